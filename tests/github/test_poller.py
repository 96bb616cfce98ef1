"""Polling against the GitHub emulator: changes land in the ledger, idle polls cost only 304s, rate limits back off."""

from __future__ import annotations

from datetime import timedelta

from bot import domain
from bot.clock import ManualClock
from bot.db import Database
from bot.github.client import GitHubWorker
from bot.github.poller import BACKOFF_KEY, Poller
from bot.ledger import Ledger
from bot.sandbox.github_emulator import GitHubEmulator
from bot.timeutil import parse_iso
from tests.github.conftest import REPO


async def _rows(db: Database, table: str) -> list[dict]:
    return [dict(row) for row in await db.fetchall(f"SELECT * FROM {table}")]


def _gets(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {route: count for route, count in counts.items() if route.startswith("GET ")}


async def _go_live(ledger: Ledger, clock: ManualClock) -> None:
    await ledger.go_live()
    clock.advance(60)  # what happens from now on is news


async def test_poll_picks_up_merges_reviews_requests_issues_and_stars(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    waiting = (await emulator.open_pull(REPO, "alice", "Add widgets", deliver=False))["number"]
    await emulator.request_reviews(REPO, waiting, ["bob"], teams=["core"], deliver=False)
    merged = (await emulator.open_pull(REPO, "bob", "Fix widgets", deliver=False))["number"]
    await emulator.submit_review(REPO, merged, "carol", "APPROVED", deliver=False)
    await emulator.merge_pull(REPO, merged, "maintainer", deliver=False)
    issue = (await emulator.open_issue(REPO, "alice", "Widgets wobble", deliver=False))["number"]
    await emulator.close_issue(REPO, issue, "carol", deliver=False)
    await emulator.star(REPO, "alice", deliver=False)

    report = await poller.poll()

    assert report.errors == [] and not report.rate_limited and report.events > 0
    pulls = {row["number"]: row for row in await _rows(db, "pull_requests")}
    assert pulls[merged]["state"] == "merged" and pulls[merged]["historical"] == 0
    assert pulls[merged]["merged_by_id"] == emulator.user_id("maintainer")
    assert pulls[waiting]["state"] == "open"
    reviews = await _rows(db, "reviews")
    assert [(r["number"], r["reviewer_id"], r["state"]) for r in reviews] == [
        (merged, emulator.user_id("carol"), "APPROVED")
    ]
    requests = {(r["reviewer_kind"], r["reviewer"]): r for r in await _rows(db, "review_requests")}
    assert set(requests) == {("user", str(emulator.user_id("bob"))), ("team", "core")}
    assert all(r["removed_at"] is None for r in requests.values())
    [closed] = await _rows(db, "issues")
    assert closed["closed_by_id"] == emulator.user_id("carol") and closed["historical"] == 0
    [star] = await _rows(db, "stars")
    assert star["user_id"] == emulator.user_id("alice") and star["historical"] == 0
    kinds = sorted(row["kind"] for row in await db.fetchall("SELECT kind FROM events WHERE historical = 0"))
    assert kinds == sorted(
        [
            domain.PullOpened.KIND,
            domain.ReviewRequested.KIND,
            domain.ReviewRequested.KIND,
            domain.PullMerged.KIND,
            domain.ReviewSubmitted.KIND,
            domain.IssueClosed.KIND,
            domain.Starred.KIND,
        ]
    )

    # The requested reviewer answers and the team request is withdrawn: the next poll closes both.
    clock.advance(30)
    await emulator.submit_review(REPO, waiting, "bob", "CHANGES_REQUESTED", deliver=False)
    await emulator.remove_review_requests(REPO, waiting, teams=["core"], deliver=False)
    await poller.poll()
    requests = {(r["reviewer_kind"], r["reviewer"]): r for r in await _rows(db, "review_requests")}
    assert all(r["removed_at"] is not None for r in requests.values())


async def test_second_poll_with_nothing_changed_makes_only_304s(
    emulator: GitHubEmulator, poller: Poller, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    number = (await emulator.open_pull(REPO, "alice", "Add widgets", deliver=False))["number"]
    await emulator.request_reviews(REPO, number, ["bob"], deliver=False)
    issue = (await emulator.open_issue(REPO, "bob", "Bug", deliver=False))["number"]
    await emulator.close_issue(REPO, issue, "alice", deliver=False)
    await emulator.star(REPO, "carol", deliver=False)
    clock.advance(5)  # the poll comes a little later (a poll in the very second of a change is read again)
    await poller.poll()
    emulator.reset_request_counts()

    report = await poller.poll()

    counts = _gets(emulator.request_counts())
    assert counts, "the idle poll asked nothing"
    assert all(count["requests"] == count["not_modified"] for count in counts.values()), counts
    assert report.requests == report.not_modified == 3
    assert report.facts == 0


async def test_change_after_idle_poll_is_picked_up_within_the_same_second(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    number = (await emulator.open_pull(REPO, "alice", "Add widgets", deliver=False))["number"]
    await poller.poll()
    await emulator.submit_review(REPO, number, "bob", "APPROVED", deliver=False)  # same whole second as the poll

    await poller.poll()

    assert [r["reviewer_id"] for r in await _rows(db, "reviews")] == [emulator.user_id("bob")]
    clock.advance(5)
    await poller.poll()  # settled now: the ETag is kept
    emulator.reset_request_counts()
    await poller.poll()
    assert all(c["requests"] == c["not_modified"] for c in _gets(emulator.request_counts()).values())


async def test_polled_facts_older_than_go_live_are_historical(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    old = (await emulator.open_pull(REPO, "alice", "Old work", deliver=False))["number"]
    await emulator.merge_pull(REPO, old, "maintainer", deliver=False)
    await emulator.star(REPO, "bob", deliver=False)
    clock.advance(3600)
    await ledger.go_live()  # the bot starts an hour later and catches up
    clock.advance(60)
    new = (await emulator.open_pull(REPO, "bob", "New work", deliver=False))["number"]
    await emulator.merge_pull(REPO, new, "maintainer", deliver=False)

    await poller.catch_up()

    historical = {row["number"]: row["historical"] for row in await _rows(db, "pull_requests")}
    assert historical == {old: 1, new: 0}
    assert [row["historical"] for row in await _rows(db, "stars")] == [1]
    merged_events = await db.fetchall("SELECT historical FROM events WHERE kind = ?", (domain.PullMerged.KIND,))
    assert sorted(row["historical"] for row in merged_events) == [0, 1]


async def test_catch_up_after_downtime_reads_only_what_changed(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    numbers = [(await emulator.open_pull(REPO, "alice", f"PR {i}", deliver=False))["number"] for i in range(5)]
    clock.advance(5)
    await poller.poll()
    clock.advance(3600)  # the bot was down for an hour; two PRs were merged meanwhile
    for number in numbers[:2]:
        await emulator.merge_pull(REPO, number, "maintainer", deliver=False)
    emulator.reset_request_counts()

    await poller.catch_up()

    merged = [row["number"] for row in await db.fetchall("SELECT number FROM pull_requests WHERE state = 'merged'")]
    assert sorted(merged) == numbers[:2]
    counts = emulator.request_counts()
    assert counts["GET /repos/{owner}/{repo}/pulls/{number}"]["requests"] == 2
    assert counts["GET /repos/{owner}/{repo}/pulls/{number}/reviews"]["requests"] == 2


async def test_stars_beyond_the_first_page_are_followed(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    for i in range(100):
        await emulator.star(REPO, f"fan{i}", deliver=False)
    clock.advance(5)
    await poller.poll()
    emulator.reset_request_counts()
    await poller.poll()
    assert all(c["requests"] == c["not_modified"] for c in _gets(emulator.request_counts()).values())

    clock.advance(10)
    await emulator.star(REPO, "late-fan", deliver=False)
    await poller.poll()

    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 101
    late = await db.fetchval("SELECT user_id FROM stars WHERE user_id = ?", (emulator.user_id("late-fan"),))
    assert late is not None


async def test_rate_limit_records_backoff_and_skips_the_next_poll(
    emulator: GitHubEmulator, poller: Poller, worker: GitHubWorker, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    await emulator.open_pull(REPO, "alice", "Add widgets", deliver=False)
    emulator.add_fault("GET", "/repos/{owner}/{repo}/pulls", 403, 1, retry_after=3600)

    report = await poller.poll()

    assert report.rate_limited and report.backoff_until is not None
    assert report.backoff_until >= clock.now() + timedelta(seconds=3500)
    assert parse_iso(await db.get_state(BACKOFF_KEY)) == report.backoff_until
    assert worker.backoff_until is not None
    emulator.reset_request_counts()

    skipped = await poller.poll()

    assert skipped.skipped and emulator.request_counts() == {}
    clock.advance(3700)
    resumed = await poller.poll()
    assert not resumed.skipped and not resumed.rate_limited
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == 1


async def test_secondary_rate_limit_backs_off_without_sleeping(
    emulator: GitHubEmulator, poller: Poller, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    emulator.add_fault("GET", "/repos/{owner}/{repo}/pulls", "secondary-rate-limit", 1, retry_after=120)

    report = await poller.poll()

    assert report.rate_limited
    assert clock.now() + timedelta(seconds=100) < report.backoff_until < clock.now() + timedelta(seconds=160)


async def test_backoff_survives_a_restart(
    emulator: GitHubEmulator, worker: GitHubWorker, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    emulator.add_fault("GET", "/repos/{owner}/{repo}/pulls", 429, 1, retry_after=600)
    assert (await Poller(worker, ledger, db, clock, [REPO]).poll()).rate_limited
    fresh_worker = GitHubWorker(emulator.url, emulator.token, clock=clock, throttle=False, retry_backoff=0)
    await fresh_worker.start()
    try:
        report = await Poller(fresh_worker, ledger, db, clock, [REPO]).poll()
    finally:
        await fresh_worker.close()
    assert report.skipped


async def test_outage_is_reported_and_the_next_poll_resumes(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    first = (await emulator.open_pull(REPO, "alice", "One", deliver=False))["number"]
    second = (await emulator.open_pull(REPO, "bob", "Two", deliver=False))["number"]
    await emulator.merge_pull(REPO, first, "maintainer", deliver=False)
    await emulator.merge_pull(REPO, second, "maintainer", deliver=False)
    emulator.add_fault("GET", "/repos/{owner}/{repo}/pulls/{number}/reviews", 502, 8)

    broken = await poller.poll()

    assert broken.errors and not broken.rate_limited
    emulator.clear_faults()
    await poller.poll()
    merged = await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'")
    assert merged == 2


async def test_one_server_error_is_retried_transparently(
    emulator: GitHubEmulator, poller: Poller, db: Database, ledger: Ledger, clock: ManualClock
) -> None:
    await _go_live(ledger, clock)
    await emulator.open_pull(REPO, "alice", "One", deliver=False)
    emulator.add_fault("GET", "/repos/{owner}/{repo}/pulls", 503, 1)

    report = await poller.poll()

    assert report.errors == []
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == 1
