"""Backfill through GraphQL against the emulator: few requests, history not news, resumable, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.github.backfill import Backfill, BackfillProgress
from bot.github.types import GitHubUnavailable, RateLimited
from bot.sandbox.github_emulator import GitHubEmulator
from tests.github.conftest import REPO

START = datetime(2020, 1, 1, tzinfo=UTC)


def _history(count: int, reviews_every: int = 3) -> list[dict]:
    rows = []
    for number in range(1, count + 1):
        row = {
            "number": number,
            "author": f"dev{number % 250}",
            "merged_at": (START + timedelta(hours=number)).isoformat(),
            "merged_by": "maintainer" if number % 7 else "lead",
        }
        if number % reviews_every == 0:
            row["reviews"] = [{"by": "reviewer", "state": "APPROVED"}]
        rows.append(row)
    return rows


def _graphql_requests(emulator: GitHubEmulator) -> int:
    return emulator.request_counts().get("POST /graphql", {}).get("requests", 0)


async def _counts(db: Database) -> tuple[int, ...]:
    return tuple(
        [
            await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged' AND historical = 1"),
            await db.fetchval("SELECT COUNT(*) FROM reviews"),
            await db.fetchval("SELECT COUNT(*) FROM events"),
            await db.fetchval("SELECT COUNT(*) FROM events WHERE historical = 0"),
            await db.fetchval("SELECT COUNT(*) FROM github_users"),
        ]
    )


async def test_backfill_of_2500_prs_takes_at_most_40_requests_and_is_history(
    emulator: GitHubEmulator, backfill: Backfill, db: Database
) -> None:
    await emulator.load_history(REPO, _history(2500))
    emulator.reset_request_counts()
    seen: list[BackfillProgress] = []

    report = await backfill.run(REPO, seen.append)

    assert _graphql_requests(emulator) <= 40
    assert sum(count["requests"] for count in emulator.request_counts().values()) == report.requests <= 40
    assert report.prs == report.total_prs == 2500 and report.reviews == 833
    merged, reviews, events, news, _ = await _counts(db)
    assert (merged, reviews, news) == (2500, 833, 0) and events > 0
    merger = await db.fetchval("SELECT merged_by_id FROM pull_requests WHERE number = 7")
    assert merger == emulator.user_id("lead")
    assert await backfill.is_done(REPO)
    assert seen[-1].prs == 2500 and seen[-1].total_prs == 2500 and seen[-1].rate_limit_remaining is not None
    assert seen[0].eta_seconds is not None and seen[-1].eta_seconds == 0


async def test_second_backfill_changes_nothing(emulator: GitHubEmulator, backfill: Backfill, db: Database) -> None:
    await emulator.load_history(REPO, _history(250))
    await backfill.run(REPO)
    before = await _counts(db)
    emulator.reset_request_counts()

    again = await backfill.run(REPO)
    assert again.already_done and emulator.request_counts() == {}

    forced = await backfill.run(REPO, force=True)
    assert forced.prs == 250 and forced.events == 0
    assert await _counts(db) == before


async def test_interrupted_backfill_resumes_from_its_cursor(
    emulator: GitHubEmulator, backfill: Backfill, db: Database
) -> None:
    await emulator.load_history(REPO, _history(1000))
    emulator.reset_request_counts()

    def break_after_four_pages(progress: BackfillProgress) -> None:
        if progress.prs == 400:
            emulator.add_fault("POST", "/graphql", 502, 10)

    with pytest.raises(GitHubUnavailable):
        await backfill.run(REPO, break_after_four_pages)
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == 400
    assert not await backfill.is_done(REPO)
    emulator.clear_faults()
    emulator.reset_request_counts()

    report = await backfill.run(REPO)

    assert report.prs == 600 and report.phases == ["pulls", "issues", "stars"]
    assert _graphql_requests(emulator) == 8  # six pages of PRs, one of issues, one of stars
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE historical = 1") == 1000
    assert await backfill.is_done(REPO)


async def test_backfill_imports_closed_issues_stars_and_long_review_threads(
    emulator: GitHubEmulator, backfill: Backfill, db: Database, clock: ManualClock
) -> None:
    busy = [{"by": f"critic{i}", "state": "COMMENTED"} for i in range(130)]
    await emulator.load_history(REPO, [{"number": 1, "author": "alice", "merged_at": START, "reviews": busy}])
    issue = (await emulator.open_issue(REPO, "bob", "Crash", deliver=False))["number"]
    await emulator.close_issue(REPO, issue, "carol", deliver=False, reason="not_planned")
    await emulator.star(REPO, "dave", deliver=False)

    report = await backfill.run(REPO)

    assert (report.prs, report.reviews, report.issues, report.stars) == (1, 130, 1, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM reviews") == 130
    row = await db.fetchone("SELECT closed_by_id, state_reason, historical FROM issues WHERE number = ?", (issue,))
    assert tuple(row) == (emulator.user_id("carol"), "not_planned", 1)
    assert await db.fetchval("SELECT historical FROM stars") == 1


async def test_rate_limited_backfill_stops_with_its_progress_saved(
    emulator: GitHubEmulator, backfill: Backfill, db: Database
) -> None:
    await emulator.load_history(REPO, _history(300))

    def limit_after_first_page(progress: BackfillProgress) -> None:
        if progress.prs == 100:
            emulator.add_fault("POST", "/graphql", 403, 1, retry_after=3600)

    with pytest.raises(RateLimited) as caught:
        await backfill.run(REPO, limit_after_first_page)

    assert caught.value.resource == "graphql" and not caught.value.secondary
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == 100
