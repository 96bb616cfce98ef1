"""bot/counting.py's rule and migration 0012's views say the same thing, case by case."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.counting import VIEWS, account_counts, issue_close_counts, review_counts
from bot.db import Database
from bot.ledger import Actor, IssueFact, Ledger, PullFact, ReviewFact

WHEN = datetime(2026, 3, 2, 12, tzinfo=UTC)


async def test_the_views_are_defined_as_the_module_writes_them(db: Database) -> None:
    for name, sql in VIEWS.items():
        stored = await db.fetchval("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (name,))
        assert " ".join(str(stored).split()) == sql


async def test_accounts_count_in_sql_exactly_when_they_count_in_python(db: Database) -> None:
    logins = ["alice", "ghost", "GHOST", "renovate[bot]", "acme"]
    cases = list(itertools.product([1, 10137], logins, [0, 1], [0, 1], [0, 1]))
    async with db.transaction() as conn:
        for index, (base, login, is_bot, is_org, ignored) in enumerate(cases):
            github_id = 10137 if base == 10137 and index == 0 else base * 1000 + index
            await conn.execute(
                "INSERT INTO github_users(id, login, is_bot, is_org, ignored, updated_at) VALUES (?, ?, ?, ?, ?, '')",
                (github_id, login, is_bot, is_org, ignored),
            )
    counted = {row[0] for row in await db.fetchall("SELECT id FROM counted_accounts")}
    rows = await db.fetchall("SELECT id, login, is_bot, is_org, ignored FROM github_users")
    for row in rows:
        expected = account_counts(row[0], row[1], is_bot=bool(row[2]), is_org=bool(row[3]), ignored=bool(row[4]))
        assert (row[0] in counted) is expected, tuple(row)
    assert 10137 not in counted and len(counted) == sum(1 for r in rows if r[1] in ("alice", "acme") and not any(r[2:]))


async def test_reviews_and_issue_closes_count_in_sql_exactly_when_they_count_in_python(
    db: Database, clock: ManualClock
) -> None:
    ledger = Ledger(db, clock)
    author, other = Actor(42, "author"), Actor(43, "other")
    pull = PullFact("o/r", 1, "T", "u", author, "open", created_at=WHEN, updated_at=WHEN)
    reviews = [
        ReviewFact(100 + index, "o/r", 1, who, state, WHEN)
        for index, (who, state) in enumerate(
            itertools.product([author, other], ["COMMENTED", "APPROVED", "CHANGES_REQUESTED", "DISMISSED"])
        )
    ]
    issues = [
        IssueFact("o/r", 10 + index, "I", "u", author, "closed", closed_at=WHEN, closed_by=who, state_reason=reason)
        for index, (who, reason) in enumerate(itertools.product([author, other], [None, "completed", "not_planned"]))
    ]
    await ledger.apply([*reviews, *issues], "webhook")  # reviews before their pull request is known ...
    await ledger.apply([pull], "webhook")  # ... then it arrives: self-reviews stop counting
    counted = {row[0] for row in await db.fetchall("SELECT id FROM counted_reviews")}
    for review in reviews:
        assert (review.id in counted) is review_counts(review.state, review.reviewer.id, author.id)  # type: ignore[union-attr]
    closes = {row[0] for row in await db.fetchall("SELECT number FROM counted_issue_closes")}
    for issue in issues:
        assert (issue.number in closes) is issue_close_counts(issue.state, issue.state_reason)
    totals = dict(
        (tuple(row[:2]), row[2]) for row in await db.fetchall("SELECT github_id, category, n FROM contribution_totals")
    )
    assert totals.get((42, "reviews"), 0) == 0 and totals[(43, "reviews")] == 3
    assert totals[(42, "issues_closed")] == 2 and totals[(43, "issues_closed")] == 2


async def test_ignored_accounts_follow_the_configuration_at_start(db: Database, clock: ManualClock) -> None:
    merged = PullFact(
        "o/r", 1, "T", "u", Actor(7, "carol"), "merged", merged_at=WHEN, updated_at=WHEN, merged_by=Actor(1, "m")
    )
    await Ledger(db, clock, ["carol"]).apply([merged], "webhook")
    assert await db.fetchval("SELECT listed FROM contribution_totals WHERE github_id = 7") == 0
    changed = await Ledger(db, clock, []).apply_ignored_accounts()  # carol removed from the list, then a restart
    assert changed == 1
    assert await db.fetchval("SELECT id FROM counted_accounts WHERE id = 7") == 7
    assert await db.fetchval("SELECT listed FROM contribution_totals WHERE github_id = 7") == 1
    assert await Ledger(db, clock, ["CAROL"]).apply_ignored_accounts() == 1
    assert await db.fetchval("SELECT ignored FROM github_users WHERE id = 7") == 1
