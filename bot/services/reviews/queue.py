"""Read the review queue from the ledger: pending requests on open pull requests, filtered as configured."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.config.models import Settings
from bot.db import Database
from bot.services.reviews.business import BusinessCalendar
from bot.services.reviews.models import PullSummary, QueueSnapshot, Reviewer, WaitingReview, reviewer_key
from bot.timeutil import parse_iso

_REQUESTS = """
SELECT rr.repo, rr.number, rr.reviewer_kind, rr.reviewer, rr.requested_at,
       p.title, p.url, p.draft, p.labels, p.author_id,
       COALESCE(a.login, 'ghost') AS author_login,
       NOT EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = p.author_id) AS author_excluded,
       EXISTS (SELECT 1 FROM pull_requests m WHERE m.author_id = p.author_id AND m.state = 'merged') AS author_merged,
       ru.login AS reviewer_login,
       ru.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = ru.id) AS reviewer_excluded,
       l.discord_id, rp.away_until, COALESCE(rp.dm, 0) AS dm
FROM review_requests rr
JOIN pull_requests p ON p.repo = rr.repo AND p.number = rr.number
LEFT JOIN github_users a ON a.id = p.author_id
LEFT JOIN github_users ru ON rr.reviewer_kind = 'user' AND ru.id = CAST(rr.reviewer AS INTEGER)
LEFT JOIN links l ON l.guild_id = ? AND l.github_id = ru.id
LEFT JOIN reviewer_prefs rp ON rp.guild_id = l.guild_id AND rp.discord_id = l.discord_id
WHERE rr.removed_at IS NULL AND p.state = 'open'
"""

# Reviews by accounts that do not count (bot/counting.py) are never approvals or change requests.
_REVIEWS = """
SELECT r.repo, r.number, r.reviewer_id, r.state FROM reviews r
JOIN pull_requests p ON p.repo = r.repo AND p.number = r.number
LEFT JOIN github_users u ON u.id = r.reviewer_id
WHERE p.state = 'open' AND (u.id IS NULL OR EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = u.id))
ORDER BY r.submitted_at, r.id
"""


def title_pattern(text: str) -> re.Pattern[str]:
    """Match a title pattern as a whole word, so "WIP" skips "[WIP] parser" but not "Fix wiping"."""
    body = re.escape(text.strip())
    before = r"(?<!\w)" if text.strip()[:1].isalnum() else ""
    after = r"(?!\w)" if text.strip()[-1:].isalnum() else ""
    return re.compile(before + body + after, re.IGNORECASE)


@dataclass(frozen=True)
class PullFilter:
    """Which pull requests are never nudged about: drafts, labels, titles, authors, repositories."""

    ignore_drafts: bool = True
    ignored_labels: frozenset[str] = frozenset()
    required_labels: frozenset[str] = frozenset()
    title_patterns: tuple[re.Pattern[str], ...] = ()
    ignored_authors: frozenset[str] = frozenset()
    repositories: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> PullFilter:
        """Build the filter from the [reviews] settings."""
        reviews = settings.reviews
        return cls(
            ignore_drafts=reviews.ignore_drafts,
            ignored_labels=frozenset(label.lower() for label in reviews.ignored_labels),
            required_labels=frozenset(label.lower() for label in reviews.required_labels),
            title_patterns=tuple(title_pattern(text) for text in reviews.title_patterns if text.strip()),
            ignored_authors=frozenset(login.lower() for login in reviews.ignored_authors),
            repositories=frozenset(repo.lower() for repo in reviews.repositories),
        )

    def skip_reason(self, *, repo: str, title: str, draft: bool, labels: Iterable[str], author: str) -> str | None:
        """Say why a pull request is left out of the queue, or None when it belongs in it."""
        names = {label.lower() for label in labels}
        if self.repositories and repo.lower() not in self.repositories:
            return "repository"
        if self.ignore_drafts and draft:
            return "draft"
        if names & self.ignored_labels:
            return "ignored label"
        if self.required_labels and not names & self.required_labels:
            return "missing required label"
        if any(pattern.search(title) for pattern in self.title_patterns):
            return "title"
        if author.lower() in self.ignored_authors:
            return "author"
        return None


def review_tally(rows: Sequence[Any]) -> dict[tuple[str, int], tuple[int, int]]:
    """Count approvals and change requests per pull request from each reviewer's latest deciding review."""
    latest: dict[tuple[str, int], dict[int, str]] = {}
    for row in rows:
        states = latest.setdefault((row["repo"], int(row["number"])), {})
        state = str(row["state"]).upper()
        if state == "DISMISSED":
            states.pop(row["reviewer_id"], None)
        elif state in ("APPROVED", "CHANGES_REQUESTED"):
            states[row["reviewer_id"]] = state
    return {
        pr: (sum(s == "APPROVED" for s in states.values()), sum(s == "CHANGES_REQUESTED" for s in states.values()))
        for pr, states in latest.items()
    }


def _labels(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


class QueueReader:
    """Build the review queue from the ledger tables, the links and the reviewers' preferences."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._filter = PullFilter.from_settings(settings)
        reviews = settings.reviews
        self.calendar = (
            BusinessCalendar.build(reviews.timezone, reviews.working_days, reviews.holidays, reviews.working_hours)
            if reviews.business_days
            else None
        )

    async def read(self, now: datetime, *, repo: str | None = None) -> QueueSnapshot:
        """Return every pending request that passes the filters, in queue order."""
        guild_id = self._settings.discord.guild_id
        rows = await self._db.fetchall(_REQUESTS, (guild_id,))
        tally = review_tally(await self._db.fetchall(_REVIEWS))
        snoozes = {
            r["reviewer"]: parse_iso(r["until"])
            for r in await self._db.fetchall("SELECT reviewer, until FROM snoozes WHERE guild_id = ?", (guild_id,))
        }
        acks = {
            (r["reviewer"], r["repo"], r["number"], r["requested_at"]): parse_iso(r["until"])
            for r in await self._db.fetchall(
                "SELECT reviewer, repo, number, requested_at, until FROM review_acks WHERE guild_id = ?", (guild_id,)
            )
        }
        items = []
        for row in rows:
            if repo is not None and row["repo"].lower() != repo.lower():
                continue
            item = self._item(row, tally, now)
            if item is None:
                continue
            key = item.reviewer.key
            ack = acks.get((key, row["repo"], row["number"], row["requested_at"]))
            items.append(replace(item, snoozed_until=snoozes.get(key), on_it_until=ack))
        items.sort(key=WaitingReview.sort_key)
        return QueueSnapshot(now, tuple(items), business_time=self.calendar is not None)

    def _item(self, row: Any, tally: dict[tuple[str, int], tuple[int, int]], now: datetime) -> WaitingReview | None:
        reviews = self._settings.reviews
        if row["author_excluded"] or (row["reviewer_kind"] == "user" and row["reviewer_excluded"]):
            return None
        reason = self._filter.skip_reason(
            repo=row["repo"],
            title=row["title"],
            draft=bool(row["draft"]),
            labels=_labels(row["labels"]),
            author=row["author_login"],
        )
        approvals, changes = tally.get((row["repo"], int(row["number"])), (0, 0))
        requested_at = parse_iso(row["requested_at"])
        if reason is not None or approvals >= reviews.approvals_needed or requested_at is None:
            return None
        waited = self.calendar.elapsed(requested_at, now) if self.calendar else max(now - requested_at, timedelta(0))
        pull = PullSummary(
            repo=row["repo"],
            number=int(row["number"]),
            title=row["title"],
            url=row["url"],
            author_login=row["author_login"],
            first_timer=row["author_id"] is not None and not row["author_merged"],
            approvals=approvals,
            changes_requested=changes,
        )
        return WaitingReview(
            pull,
            self._reviewer(row),
            requested_at,
            waited,
            overdue=waited >= reviews.threshold,
            escalated=waited >= reviews.escalate_after,
        )

    def _reviewer(self, row: Any) -> Reviewer:
        kind, name = row["reviewer_kind"], row["reviewer"]
        key = reviewer_key(kind, name)
        if kind == "team":
            return Reviewer(key, "team", name, role_id=self._settings.reviews.team_roles.get(name))
        return Reviewer(
            key,
            "user",
            row["reviewer_login"] or f"user {name}",
            github_id=int(name) if name.isdigit() else None,
            discord_id=row["discord_id"],
            away_until=parse_iso(row["away_until"]),
            dm=bool(row["dm"]),
        )
