"""The ledger's writer: facts are applied idempotently, and each one that changes something becomes an event."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

import aiosqlite

from bot import events as ev
from bot.clock import Clock
from bot.counting import account_counts, is_bot_account
from bot.db import Database
from bot.domain import (
    ConvertedToDraft,
    DomainEvent,
    IssueClosed,
    PullClosed,
    PullEvent,
    PullMerged,
    PullOpened,
    ReadyForReview,
    ReviewRequested,
    ReviewRequestRemoved,
    ReviewSubmitted,
    Starred,
)
from bot.ledger.facts import (
    Actor,
    Fact,
    IssueFact,
    PullFact,
    ReviewFact,
    ReviewRequestFact,
    Source,
    StarFact,
    actors_of,
)
from bot.ledger.rows import UPSERT_PULL, ApplyResult, Batch, account_id, iso_or_none, older
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)


class Ledger:
    """Write GitHub facts and the events they cause, in one transaction."""

    def __init__(self, db: Database, clock: Clock, ignored_logins: Iterable[str] = ()) -> None:
        self._db = db
        self._clock = clock
        self._ignored = {login.lower() for login in ignored_logins}
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
        async with self._db.transaction() as conn:
            return await self.apply_in(conn, facts, source, go_live)

    async def apply_in(
        self, conn: aiosqlite.Connection, facts: Sequence[Fact], source: Source, go_live: datetime
    ) -> ApplyResult:
        """Record facts inside the caller's transaction (``go_live`` from :meth:`go_live`); its commit wakes the bus.

        The webhook receiver uses it to record a batch of deliveries and mark them processed in one commit.
        """
        batch = Batch(facts=len(facts))
        await self._users(conn, facts)
        await self._pull_states(conn, facts, batch)
        for fact in facts:
            await self._apply_one(conn, fact, source, go_live, batch)
        if batch.pull_rows:
            await conn.executemany(UPSERT_PULL, batch.pull_rows)
        if batch.event_rows:
            await ev.append_events(conn, batch.event_rows, now=self._clock.now())
        return ApplyResult(batch.events, batch.facts, batch.kinds)

    def _historical(self, source: Source, when: datetime | None, go_live: datetime) -> bool:
        if source == "backfill":
            return True
        if source == "webhook":
            return False
        # GitHub's times have whole seconds: a fact from go-live's own second is news, not history.
        return when is not None and when < go_live.replace(microsecond=0)

    def _automated(self, who: Actor | None) -> bool:
        """A bot or an ignored account (whose requests do not restart a review's wait)."""
        if who is None:
            return False
        ignored = who.login.lower() in self._ignored
        return not account_counts(who.id, who.login, is_bot=who.is_bot, is_org=who.is_org, ignored=ignored)

    async def _users(self, conn: aiosqlite.Connection, facts: Sequence[Fact]) -> None:
        """Store every account the facts name, in one statement, before the facts that refer to them."""
        actors = {actor.id: actor for fact in facts for actor in actors_of(fact) if actor is not None}
        if not actors:
            return
        now = iso(self._clock.now())
        rows = []
        for actor in actors.values():
            is_bot = actor.is_bot or is_bot_account(actor.login)
            ignored = actor.login.lower() in self._ignored
            kind = actor.account_type
            rows.append(
                (actor.id, actor.login, int(is_bot), int(ignored), actor.avatar_url, now, kind, int(actor.is_org))
            )
        await conn.executemany(
            "INSERT INTO github_users(id, login, is_bot, ignored, avatar_url, updated_at, account_type, is_org) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET login = excluded.login, is_bot = MAX(is_bot, excluded.is_bot), "
            "ignored = excluded.ignored, avatar_url = COALESCE(excluded.avatar_url, avatar_url), "
            "is_org = MAX(is_org, excluded.is_org), "
            "updated_at = excluded.updated_at, account_type = CASE WHEN excluded.account_type = 'User' "
            "THEN account_type ELSE excluded.account_type END "
            "WHERE login != excluded.login OR ignored != excluded.ignored "
            "OR (excluded.avatar_url IS NOT NULL AND avatar_url IS NOT excluded.avatar_url) "
            "OR is_bot < excluded.is_bot OR is_org < excluded.is_org "
            "OR (excluded.account_type != 'User' AND account_type != excluded.account_type)",
            rows,
        )

    async def apply_ignored_accounts(self) -> int:
        """Mark exactly the configured ignored accounts as ignored (at start: the configuration is the truth).

        Return how many accounts changed; their board totals follow by the triggers of migration 0012.
        """
        wanted = json.dumps(sorted(self._ignored))
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE github_users SET ignored = (lower(login) IN (SELECT value FROM json_each(?))) "
                "WHERE ignored != (lower(login) IN (SELECT value FROM json_each(?)))",
                (wanted, wanted),
            )
            return int(cursor.rowcount or 0)

    @staticmethod
    async def _pull_states(conn: aiosqlite.Connection, facts: Sequence[Fact], batch: Batch) -> None:
        """Read the stored state and draft flag of every pull request the facts concern, one query per repo."""
        numbers: dict[str, set[int]] = {}
        for fact in facts:
            if isinstance(fact, PullFact):
                numbers.setdefault(fact.repo, set()).add(fact.number)
        for repo, wanted in numbers.items():
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                rows = await conn.execute_fetchall(
                    "SELECT number, state, draft, updated_at FROM pull_requests WHERE repo = ? "
                    f"AND number IN ({','.join('?' * len(chunk))})",
                    (repo, *chunk),
                )
                batch.pull_states.update({(repo, int(row[0])): (str(row[1]), int(row[2]), row[3]) for row in rows})

    @staticmethod
    def _event(result: Batch, event: DomainEvent, historical: bool) -> None:
        result.event_rows.append((event, historical))
        result.events += 1
        result.kinds.append(event.KIND)

    async def _apply_one(
        self, conn: aiosqlite.Connection, fact: Fact, source: Source, go_live: datetime, result: Batch
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
        self, conn: aiosqlite.Connection, fact: PullFact, source: Source, go_live: datetime, result: Batch
    ) -> None:
        author_id = account_id(fact.author)
        merger_id = account_id(fact.merged_by)
        key = (fact.repo, fact.number)
        before = result.pull_states.get(key)
        old_state = before[0] if before else None
        if old_state == "merged" and fact.state != "merged":
            return  # a merge is final; an older snapshot must not undo it
        if before is not None and older(fact.updated_at, before[2]) and not (fact.state == "merged" != old_state):
            return  # a snapshot older than the stored one (a late or redelivered webhook) never undoes newer state
        historical = self._historical(source, fact.merged_at or fact.updated_at or fact.created_at, go_live)
        result.pull_states[key] = (
            fact.state,
            int(fact.draft),
            iso_or_none(fact.updated_at) or (before[2] if before else None),
        )
        result.pull_rows.append(
            (
                fact.repo,
                fact.number,
                fact.title,
                fact.url,
                author_id,
                fact.state,
                int(fact.draft),
                json.dumps(list(fact.labels)),
                iso_or_none(fact.created_at),
                iso_or_none(fact.updated_at),
                iso_or_none(fact.merged_at),
                merger_id,
                iso_or_none(fact.closed_at),
                int(historical),
            )
        )
        base = PullEvent(
            fact.repo, fact.number, fact.title, fact.url, author_id, fact.author.login if fact.author else None
        )
        event: DomainEvent | None = None
        if fact.state == "merged" and old_state != "merged":
            merger_login = fact.merged_by.login if fact.merged_by else None
            event = PullMerged(
                **base.payload(),
                merged_at=iso_or_none(fact.merged_at),
                merged_by_id=merger_id,
                merged_by_login=merger_login,
            )
        elif fact.state == "open" and before is None:
            event = PullOpened(**base.payload(), draft=fact.draft)
        elif fact.state == "closed" and old_state == "open":
            event = PullClosed(**base.payload())
        elif before is not None and fact.state == "open" and bool(before[1]) != fact.draft:
            event = (ConvertedToDraft if fact.draft else ReadyForReview)(**base.payload())
        if event is not None:
            self._event(result, event, historical)

    async def _apply_review(
        self, conn: aiosqlite.Connection, fact: ReviewFact, source: Source, go_live: datetime, result: Batch
    ) -> None:
        reviewer_id = account_id(fact.reviewer)
        historical = self._historical(source, fact.submitted_at, go_live)
        state = fact.state.upper()
        before = await _first(conn, "SELECT state FROM reviews WHERE id = ?", (fact.id,))
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
            submitted = ReviewSubmitted(fact.id, fact.repo, fact.number, reviewer_id, state, iso(fact.submitted_at))
            self._event(result, submitted, historical)

    async def _apply_request(
        self,
        conn: aiosqlite.Connection,
        fact: ReviewRequestFact,
        source: Source,
        go_live: datetime,
        result: Batch,
    ) -> None:
        historical = self._historical(source, fact.at, go_live)
        key = (fact.repo, fact.number, fact.kind, fact.reviewer)
        before = await _first(
            conn,
            "SELECT requested_at, removed_at FROM review_requests WHERE repo = ? AND number = ? "
            "AND reviewer_kind = ? AND reviewer = ?",
            key,
        )
        fields = (fact.repo, fact.number, fact.kind, fact.reviewer, iso(fact.at))
        if fact.removed:
            if before is None:
                # Removed before its request arrived (deliveries out of order): remember the removal, so the
                # older request, when it comes, does not count as waiting.
                await conn.execute(
                    "INSERT INTO review_requests(repo, number, reviewer_kind, reviewer, requested_at, removed_at) "
                    "VALUES (?,?,?,?,?,?)",
                    (*key, iso(fact.at), iso(fact.at)),
                )
                return
            if before["removed_at"] is not None or before["requested_at"] > iso(fact.at):
                return  # already removed, or an older removal than the request now standing
            await conn.execute(
                "UPDATE review_requests SET removed_at = ? WHERE repo = ? AND number = ? "
                "AND reviewer_kind = ? AND reviewer = ?",
                (iso(fact.at), *key),
            )
            self._event(result, ReviewRequestRemoved(*fields), historical)
            return
        if before is not None and before["removed_at"] is None and before["requested_at"] >= iso(fact.at):
            return
        if before is not None and before["removed_at"] is None and self._automated(fact.requester):
            return  # a bot asking again for a review still awaited does not restart the wait
        if before is not None and before["removed_at"] is not None and before["removed_at"] >= iso(fact.at):
            return  # an old request that was answered or withdrawn later
        await conn.execute(
            "INSERT INTO review_requests(repo, number, reviewer_kind, reviewer, requested_at, removed_at) "
            "VALUES (?,?,?,?,?,NULL) ON CONFLICT(repo, number, reviewer_kind, reviewer) DO UPDATE SET "
            "requested_at = excluded.requested_at, removed_at = NULL",
            (*key, iso(fact.at)),
        )
        self._event(result, ReviewRequested(*fields), historical)

    async def _apply_issue(
        self, conn: aiosqlite.Connection, fact: IssueFact, source: Source, go_live: datetime, result: Batch
    ) -> None:
        author_id = account_id(fact.author)
        closer_id = account_id(fact.closed_by)
        before = await _first(
            conn, "SELECT state, updated_at FROM issues WHERE repo = ? AND number = ?", (fact.repo, fact.number)
        )
        if before is not None and older(fact.updated_at, before["updated_at"]):
            return  # an older snapshot never reopens or relabels a newer one
        historical = self._historical(source, fact.closed_at or fact.created_at, go_live)
        await conn.execute(
            "INSERT INTO issues(repo, number, title, url, author_id, state, labels, created_at, closed_at, "
            "closed_by_id, state_reason, historical, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(repo, number) DO UPDATE SET title = excluded.title, url = excluded.url, "
            "updated_at = COALESCE(excluded.updated_at, updated_at), "
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
                iso_or_none(fact.created_at),
                iso_or_none(fact.closed_at),
                closer_id,
                fact.state_reason,
                int(historical),
                iso_or_none(fact.updated_at),
            ),
        )
        if fact.state == "closed" and (before is None or before["state"] != "closed"):
            closed = IssueClosed(
                fact.repo,
                fact.number,
                fact.title,
                fact.url,
                author_id,
                closer_id,
                iso_or_none(fact.closed_at),
                fact.state_reason,
            )
            self._event(result, closed, historical)

    async def _apply_star(
        self, conn: aiosqlite.Connection, fact: StarFact, source: Source, go_live: datetime, result: Batch
    ) -> None:
        user_id = account_id(fact.user)
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
            self._event(result, Starred(fact.repo, user_id, iso(when)), historical)


async def _first(conn: aiosqlite.Connection, sql: str, params: tuple[object, ...]) -> aiosqlite.Row | None:
    """Read one row in a single trip to the database thread (execute, fetch and close would take three)."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)
