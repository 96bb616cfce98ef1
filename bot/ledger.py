"""The ledger: GitHub facts land here first, idempotently, and each new fact becomes a domain event.

Every source — webhooks, polling, catch-up, backfill — turns what GitHub said into the fact dataclasses below
and calls ``Ledger.apply``. A fact that changes nothing (a redelivery, a poll overlapping a webhook, a backfill
over live data) writes no event, so nothing downstream happens twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import aiosqlite

from bot import events as ev
from bot.clock import Clock
from bot.db import Database
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

Source = Literal["webhook", "poll", "backfill"]


@dataclass(frozen=True)
class Actor:
    """A GitHub account: the numeric id is the identity, the login is for display."""

    id: int
    login: str
    is_bot: bool = False
    avatar_url: str | None = None


@dataclass(frozen=True)
class PullFact:
    """The state of a pull request as GitHub reported it."""

    repo: str
    number: int
    title: str
    url: str
    author: Actor | None
    state: Literal["open", "closed", "merged"]
    draft: bool = False
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: Actor | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ReviewFact:
    """A submitted (or dismissed) review."""

    id: int
    repo: str
    number: int
    reviewer: Actor | None
    state: str
    submitted_at: datetime


@dataclass(frozen=True)
class ReviewRequestFact:
    """A review requested from (or no longer requested from) a user or a team."""

    repo: str
    number: int
    kind: Literal["user", "team"]
    reviewer: str
    at: datetime
    removed: bool = False
    actor: Actor | None = None


@dataclass(frozen=True)
class IssueFact:
    """The state of an issue."""

    repo: str
    number: int
    title: str
    url: str
    author: Actor | None
    state: Literal["open", "closed"]
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: Actor | None = None
    state_reason: str | None = None


@dataclass(frozen=True)
class StarFact:
    """A star given (or taken back)."""

    repo: str
    user: Actor
    starred_at: datetime | None
    removed: bool = False


Fact = PullFact | ReviewFact | ReviewRequestFact | IssueFact | StarFact


@dataclass
class ApplyResult:
    """What one ``apply`` call changed."""

    events: int = 0
    facts: int = 0
    kinds: list[str] = field(default_factory=list)


class Ledger:
    """Write GitHub facts and the events they cause, in one transaction."""

    def __init__(
        self, db: Database, clock: Clock, ignored_logins: Iterable[str] = (), bus: ev.EventBus | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._ignored = {login.lower() for login in ignored_logins}
        self._bus = bus
        self._go_live: datetime | None = None

    async def go_live(self) -> datetime:
        """Return the moment the bot first went live, recording it on first call."""
        if self._go_live is None:
            stored = await self._db.get_state("go_live")
            if stored is None:
                stored = iso(self._clock.now())
                await self._db.set_state("go_live", stored)
            self._go_live = parse_iso(stored)
        assert self._go_live is not None
        return self._go_live

    async def apply(self, facts: Sequence[Fact], source: Source) -> ApplyResult:
        """Record facts; a webhook is news, a backfill is history, a poll is history when older than go-live."""
        go_live = await self.go_live()
        result = ApplyResult(facts=len(facts))
        async with self._db.transaction() as conn:
            for fact in facts:
                await self._apply_one(conn, fact, source, go_live, result)
        if result.events and self._bus is not None:
            self._bus.notify()
        return result

    def _historical(self, source: Source, when: datetime | None, go_live: datetime) -> bool:
        if source == "backfill":
            return True
        if source == "webhook":
            return False
        return when is not None and when < go_live

    async def _user(self, conn: aiosqlite.Connection, actor: Actor | None) -> int | None:
        if actor is None:
            return None
        is_bot = actor.is_bot or actor.login.lower().endswith("[bot]")
        ignored = actor.login.lower() in self._ignored
        await conn.execute(
            "INSERT INTO github_users(id, login, is_bot, ignored, avatar_url, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET login = excluded.login, is_bot = MAX(is_bot, excluded.is_bot), "
            "ignored = excluded.ignored, avatar_url = COALESCE(excluded.avatar_url, avatar_url), "
            "updated_at = excluded.updated_at WHERE login != excluded.login OR ignored != excluded.ignored "
            "OR (excluded.avatar_url IS NOT NULL AND avatar_url IS NOT excluded.avatar_url) "
            "OR is_bot < excluded.is_bot",
            (actor.id, actor.login, int(is_bot), int(ignored), actor.avatar_url, iso(self._clock.now())),
        )
        return actor.id

    async def _event(
        self, conn: aiosqlite.Connection, result: ApplyResult, kind: str, payload: dict[str, object], historical: bool
    ) -> None:
        await ev.append_event(conn, kind, payload, historical=historical, now=self._clock.now())
        result.events += 1
        result.kinds.append(kind)

    async def _apply_one(
        self, conn: aiosqlite.Connection, fact: Fact, source: Source, go_live: datetime, result: ApplyResult
    ) -> None:
        if isinstance(fact, PullFact):
            await self._apply_pull(conn, fact, source, go_live, result)
        elif isinstance(fact, ReviewFact):
            await self._apply_review(conn, fact, source, go_live, result)
        elif isinstance(fact, ReviewRequestFact):
            await self._apply_request(conn, fact, source, go_live, result)
        elif isinstance(fact, IssueFact):
            await self._apply_issue(conn, fact, source, go_live, result)
        else:
            await self._apply_star(conn, fact, source, go_live, result)

    async def _apply_pull(
        self, conn: aiosqlite.Connection, fact: PullFact, source: Source, go_live: datetime, result: ApplyResult
    ) -> None:
        author_id = await self._user(conn, fact.author)
        merger_id = await self._user(conn, fact.merged_by)
        cursor = await conn.execute(
            "SELECT state, draft FROM pull_requests WHERE repo = ? AND number = ?", (fact.repo, fact.number)
        )
        before = await cursor.fetchone()
        old_state = before["state"] if before else None
        if old_state == "merged" and fact.state != "merged":
            return  # a merge is final; an older snapshot must not undo it
        historical = self._historical(source, fact.merged_at or fact.updated_at or fact.created_at, go_live)
        await conn.execute(
            "INSERT INTO pull_requests(repo, number, title, url, author_id, state, draft, labels, created_at, "
            "updated_at, merged_at, merged_by_id, closed_at, historical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(repo, number) DO UPDATE SET title = excluded.title, url = excluded.url, "
            "author_id = COALESCE(excluded.author_id, author_id), state = excluded.state, draft = excluded.draft, "
            "labels = excluded.labels, created_at = COALESCE(created_at, excluded.created_at), "
            "updated_at = excluded.updated_at, merged_at = COALESCE(merged_at, excluded.merged_at), "
            "merged_by_id = COALESCE(merged_by_id, excluded.merged_by_id), closed_at = excluded.closed_at, "
            "historical = CASE WHEN pull_requests.state = 'merged' THEN historical ELSE excluded.historical END",
            (
                fact.repo,
                fact.number,
                fact.title,
                fact.url,
                author_id,
                fact.state,
                int(fact.draft),
                json.dumps(list(fact.labels)),
                _t(fact.created_at),
                _t(fact.updated_at),
                _t(fact.merged_at),
                merger_id,
                _t(fact.closed_at),
                int(historical),
            ),
        )
        base = {
            "repo": fact.repo,
            "number": fact.number,
            "title": fact.title,
            "url": fact.url,
            "author_id": author_id,
            "author_login": fact.author.login if fact.author else None,
        }
        if fact.state == "merged" and old_state != "merged":
            payload = base | {
                "merged_at": _t(fact.merged_at),
                "merged_by_id": merger_id,
                "merged_by_login": fact.merged_by.login if fact.merged_by else None,
            }
            await self._event(conn, result, ev.MERGED, payload, historical)
        elif fact.state == "open" and before is None:
            await self._event(conn, result, ev.PR_OPENED, base | {"draft": fact.draft}, historical)
        elif fact.state == "closed" and old_state == "open":
            await self._event(conn, result, ev.PR_CLOSED, base, historical)
        elif before is not None and fact.state == "open" and bool(before["draft"]) != fact.draft:
            kind = ev.CONVERTED_TO_DRAFT if fact.draft else ev.READY_FOR_REVIEW
            await self._event(conn, result, kind, base, historical)

    async def _apply_review(
        self, conn: aiosqlite.Connection, fact: ReviewFact, source: Source, go_live: datetime, result: ApplyResult
    ) -> None:
        reviewer_id = await self._user(conn, fact.reviewer)
        historical = self._historical(source, fact.submitted_at, go_live)
        state = fact.state.upper()
        cursor = await conn.execute("SELECT state FROM reviews WHERE id = ?", (fact.id,))
        before = await cursor.fetchone()
        if before is not None and before["state"] == state:
            return
        await conn.execute(
            "INSERT INTO reviews(id, repo, number, reviewer_id, state, submitted_at, historical) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
            (fact.id, fact.repo, fact.number, reviewer_id, state, iso(fact.submitted_at), int(historical)),
        )
        if before is None and state != "DISMISSED":
            # A submitted review answers that reviewer's pending request.
            await conn.execute(
                "UPDATE review_requests SET removed_at = ? WHERE repo = ? AND number = ? AND reviewer_kind = 'user' "
                "AND reviewer = ? AND removed_at IS NULL AND requested_at <= ?",
                (iso(fact.submitted_at), fact.repo, fact.number, str(reviewer_id), iso(fact.submitted_at)),
            )
            await self._event(
                conn,
                result,
                ev.REVIEW_SUBMITTED,
                {
                    "id": fact.id,
                    "repo": fact.repo,
                    "number": fact.number,
                    "reviewer_id": reviewer_id,
                    "state": state,
                    "submitted_at": iso(fact.submitted_at),
                },
                historical,
            )

    async def _apply_request(
        self,
        conn: aiosqlite.Connection,
        fact: ReviewRequestFact,
        source: Source,
        go_live: datetime,
        result: ApplyResult,
    ) -> None:
        await self._user(conn, fact.actor)
        historical = self._historical(source, fact.at, go_live)
        key = (fact.repo, fact.number, fact.kind, fact.reviewer)
        cursor = await conn.execute(
            "SELECT requested_at, removed_at FROM review_requests WHERE repo = ? AND number = ? "
            "AND reviewer_kind = ? AND reviewer = ?",
            key,
        )
        before = await cursor.fetchone()
        payload = {
            "repo": fact.repo,
            "number": fact.number,
            "kind": fact.kind,
            "reviewer": fact.reviewer,
            "at": iso(fact.at),
        }
        if fact.removed:
            if before is None or before["removed_at"] is not None:
                return
            await conn.execute(
                "UPDATE review_requests SET removed_at = ? WHERE repo = ? AND number = ? "
                "AND reviewer_kind = ? AND reviewer = ?",
                (iso(fact.at), *key),
            )
            await self._event(conn, result, ev.REVIEW_REQUEST_REMOVED, payload, historical)
            return
        if before is not None and before["removed_at"] is None and before["requested_at"] >= iso(fact.at):
            return
        if before is not None and before["removed_at"] is not None and before["removed_at"] >= iso(fact.at):
            return  # an old request that was answered or withdrawn later
        await conn.execute(
            "INSERT INTO review_requests(repo, number, reviewer_kind, reviewer, requested_at, removed_at) "
            "VALUES (?,?,?,?,?,NULL) ON CONFLICT(repo, number, reviewer_kind, reviewer) DO UPDATE SET "
            "requested_at = excluded.requested_at, removed_at = NULL",
            (*key, iso(fact.at)),
        )
        await self._event(conn, result, ev.REVIEW_REQUESTED, payload, historical)

    async def _apply_issue(
        self, conn: aiosqlite.Connection, fact: IssueFact, source: Source, go_live: datetime, result: ApplyResult
    ) -> None:
        author_id = await self._user(conn, fact.author)
        closer_id = await self._user(conn, fact.closed_by)
        cursor = await conn.execute("SELECT state FROM issues WHERE repo = ? AND number = ?", (fact.repo, fact.number))
        before = await cursor.fetchone()
        historical = self._historical(source, fact.closed_at or fact.created_at, go_live)
        await conn.execute(
            "INSERT INTO issues(repo, number, title, url, author_id, state, labels, created_at, closed_at, "
            "closed_by_id, state_reason, historical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(repo, number) DO UPDATE SET title = excluded.title, url = excluded.url, "
            "state = excluded.state, labels = excluded.labels, closed_at = excluded.closed_at, "
            "closed_by_id = COALESCE(excluded.closed_by_id, CASE WHEN excluded.state = 'closed' THEN closed_by_id END),"
            " state_reason = excluded.state_reason",
            (
                fact.repo,
                fact.number,
                fact.title,
                fact.url,
                author_id,
                fact.state,
                json.dumps(list(fact.labels)),
                _t(fact.created_at),
                _t(fact.closed_at),
                closer_id,
                fact.state_reason,
                int(historical),
            ),
        )
        if fact.state == "closed" and (before is None or before["state"] != "closed"):
            await self._event(
                conn,
                result,
                ev.ISSUE_CLOSED,
                {
                    "repo": fact.repo,
                    "number": fact.number,
                    "title": fact.title,
                    "url": fact.url,
                    "author_id": author_id,
                    "closed_by_id": closer_id,
                    "closed_at": _t(fact.closed_at),
                    "state_reason": fact.state_reason,
                },
                historical,
            )

    async def _apply_star(
        self, conn: aiosqlite.Connection, fact: StarFact, source: Source, go_live: datetime, result: ApplyResult
    ) -> None:
        user_id = await self._user(conn, fact.user)
        if fact.removed:
            await conn.execute("DELETE FROM stars WHERE repo = ? AND user_id = ?", (fact.repo, user_id))
            return
        when = fact.starred_at or self._clock.now()
        historical = self._historical(source, when, go_live)
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO stars(repo, user_id, starred_at, historical) VALUES (?,?,?,?)",
            (fact.repo, user_id, iso(when), int(historical)),
        )
        if cursor.rowcount == 1:
            await self._event(
                conn, result, ev.STARRED, {"repo": fact.repo, "user_id": user_id, "starred_at": iso(when)}, historical
            )


def _t(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None
