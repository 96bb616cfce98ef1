"""What the ledger's writer collects and writes: an apply's result and batch, the pull-request upsert, row helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import DomainEvent
from bot.ledger.facts import Actor
from bot.timeutil import iso, parse_iso


@dataclass
class ApplyResult:
    """What one ``apply`` call changed."""

    events: int = 0
    facts: int = 0
    kinds: list[str] = field(default_factory=list)


@dataclass
class Batch(ApplyResult):
    """One ``apply_in`` call: what it changed, and the pull requests and events it writes together at the end.

    Each statement is a trip to the database thread, and under load every trip waits its turn on the event loop
    while the write lock is held; a batch of webhook deliveries writes its pull requests and events in one
    statement each (benchmarks/RESULTS.md, ingest).
    """

    pull_rows: list[tuple[object, ...]] = field(default_factory=list)
    event_rows: list[tuple[DomainEvent, bool]] = field(default_factory=list)
    pull_states: dict[tuple[str, int], tuple[str, int, str | None]] = field(default_factory=dict)


UPSERT_PULL = (
    "INSERT INTO pull_requests(repo, number, title, url, author_id, state, draft, labels, created_at, "
    "updated_at, merged_at, merged_by_id, closed_at, historical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(repo, number) DO UPDATE SET title = excluded.title, url = excluded.url, "
    "author_id = COALESCE(excluded.author_id, author_id), state = excluded.state, draft = excluded.draft, "
    "labels = excluded.labels, created_at = COALESCE(created_at, excluded.created_at), "
    "updated_at = excluded.updated_at, merged_at = COALESCE(merged_at, excluded.merged_at), "
    "merged_by_id = COALESCE(merged_by_id, excluded.merged_by_id), closed_at = excluded.closed_at, "
    "historical = CASE WHEN pull_requests.state = 'merged' THEN historical ELSE excluded.historical END"
)


def older(when: datetime | None, stored: str | None) -> bool:
    """Tell whether a snapshot taken at ``when`` is older than the stored one (unknown times are not older)."""
    before = parse_iso(stored) if stored else None
    return when is not None and before is not None and when < before


def account_id(actor: Actor | None) -> int | None:
    """The account's id, if there is an account."""
    return None if actor is None else actor.id


def iso_or_none(value: datetime | None) -> str | None:
    """The time as stored, if there is one."""
    return iso(value) if value is not None else None
