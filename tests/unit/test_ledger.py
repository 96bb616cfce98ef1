"""The ledger: facts land once; each new fact becomes one event; history is marked historical."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import ManualClock
from bot.db import Database
from bot.domain import PullMerged, ReviewRequested
from bot.events import EventBus
from bot.ledger import Actor, Ledger, PullFact, ReviewFact, ReviewRequestFact, StarFact

ALICE = Actor(1, "alice")
MAINT = Actor(2, "maint")


def merged(clock: ManualClock, number: int = 1, author: Actor = ALICE, days_ago: float = 0) -> PullFact:
    when = clock.now() - timedelta(days=days_ago)
    return PullFact(
        "o/r", number, "Fix", f"https://x/{number}", author, "merged", created_at=when, merged_at=when, merged_by=MAINT
    )


async def events(db: Database) -> list[Any]:
    return list(await db.fetchall("SELECT kind, historical FROM events ORDER BY seq"))


async def test_same_merge_twice_writes_one_event(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    await ledger.apply([merged(clock)], "webhook")
    second = await ledger.apply([merged(clock)], "poll")
    assert second.events == 0
    assert [(r["kind"], r["historical"]) for r in await events(db)] == [(PullMerged.KIND, 0)]


async def test_backfill_is_history_and_old_polled_facts_too(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    await ledger.go_live()
    await ledger.apply([merged(clock, 1)], "backfill")
    await ledger.apply([merged(clock, 2, days_ago=3)], "poll")
    clock.advance(60)
    await ledger.apply([merged(clock, 3)], "poll")
    assert [r["historical"] for r in await events(db)] == [1, 1, 0]


async def test_webhook_with_a_past_merge_time_is_still_news(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    await ledger.go_live()
    await ledger.apply([merged(clock, 1, days_ago=400)], "webhook")
    assert [r["historical"] for r in await events(db)] == [0]


async def test_an_older_snapshot_does_not_unmerge(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    await ledger.apply([merged(clock)], "webhook")
    stale = PullFact("o/r", 1, "Fix", "u", ALICE, "open")
    await ledger.apply([stale], "poll")
    assert await db.fetchval("SELECT state FROM pull_requests") == "merged"


async def test_bot_and_ignored_accounts_are_flagged(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock, ignored_logins=["Renovate-Helper"])
    await ledger.apply(
        [merged(clock, 1, Actor(9, "dependabot[bot]")), merged(clock, 2, Actor(8, "renovate-helper"))], "webhook"
    )
    rows = {r["login"]: (r["is_bot"], r["ignored"]) for r in await db.fetchall("SELECT * FROM github_users")}
    assert rows["dependabot[bot]"] == (1, 0)
    assert rows["renovate-helper"] == (0, 1)


async def test_rename_updates_the_login_but_keeps_the_identity(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    await ledger.apply([merged(clock, 1)], "webhook")
    await ledger.apply([merged(clock, 2, Actor(1, "alice-renamed"))], "webhook")
    assert await db.fetchval("SELECT login FROM github_users WHERE id = 1") == "alice-renamed"
    assert await db.fetchval("SELECT COUNT(DISTINCT author_id) FROM pull_requests") == 1


async def test_review_answers_the_pending_request(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    request = ReviewRequestFact("o/r", 5, "user", "2", clock.now(), actor=MAINT)
    await ledger.apply([request], "webhook")
    await ledger.apply([request], "webhook")
    clock.advance(3600)
    await ledger.apply([ReviewFact(77, "o/r", 5, MAINT, "approved", clock.now())], "webhook")
    assert await db.fetchval("SELECT removed_at IS NOT NULL FROM review_requests") == 1
    kinds = [r["kind"] for r in await events(db)]
    assert kinds.count(ReviewRequested.KIND) == 1


async def test_star_counted_once(db: Database, clock: ManualClock) -> None:
    ledger = Ledger(db, clock)
    star = StarFact("o/r", ALICE, clock.now())
    assert (await ledger.apply([star], "webhook")).events == 1
    assert (await ledger.apply([star], "poll")).events == 0


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, conn: Any, events: Any) -> None:
        self.seen.extend(event.seq for event in events)


async def test_event_bus_hands_each_event_to_a_consumer_once_across_restarts(db: Database, clock: ManualClock) -> None:
    bus = EventBus(db, clock)
    first = Recorder()
    bus.subscribe(first)
    ledger = Ledger(db, clock)
    await bus.start()
    await ledger.apply([merged(clock, 1), merged(clock, 2, Actor(3, "bob"))], "webhook")
    await bus.drain()
    await bus.stop()
    again = EventBus(db, clock)
    second = Recorder()
    again.subscribe(second)
    await again.start()
    await Ledger(db, clock).apply([merged(clock, 3, Actor(4, "carol"))], "webhook")
    await again.drain()
    await again.stop()
    assert first.seen == [1, 2]
    assert second.seen == [3]
