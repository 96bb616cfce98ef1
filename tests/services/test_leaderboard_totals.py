"""The all-time leaderboard reads per-person totals kept by triggers (migration 0008): they must give exactly the
board that counting the ledger gives, whatever writes the ledger and in whatever order."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.db import Database, bundled_migrations
from bot.services.ladder import leaderboard as lb
from bot.services.ladder.leaderboard import PAGE_SIZE, Board, Leaderboard

GUILD = 7
REPO = "octo/proj"
CATEGORIES = ("merged_prs", "merges", "reviews", "issues_closed")
NOW = "2026-03-01T00:00:00Z"


async def _users(db: Database, rng: random.Random, count: int) -> list[int]:
    """Accounts: most people, some bots (by flag or by name), some ignored."""
    ids = list(range(1, count + 1))
    async with db.transaction() as conn:
        for uid in ids:
            kind = rng.random()
            login = f"dev{uid:03d}" if kind > 0.1 else f"helper{uid}[bot]"
            await conn.execute(
                "INSERT INTO github_users(id, login, is_bot, ignored, updated_at) VALUES (?, ?, ?, ?, ?)",
                (uid, login, int(0.1 < kind < 0.15), int(0.15 < kind < 0.2), NOW),
            )
        for uid in ids[:40:3]:
            await conn.execute(
                "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (GUILD, 9000 + uid, uid, f"dev{uid:03d}", "gist", NOW),
            )
    return ids


async def _write_history(db: Database, rng: random.Random, people: list[int], steps: range) -> None:
    """Insert, change and delete pull requests, reviews and issues at random, the way any writer might."""
    pick = lambda: rng.choice(people) if rng.random() > 0.05 else None  # noqa: E731 - an account, or a deleted one (NULL)
    pulls: list[int] = []
    issues: list[int] = []
    async with db.transaction() as conn:
        for step in steps:
            roll = rng.random()
            if roll < 0.35 or not pulls:
                number = step + 1
                pulls.append(number)
                state = rng.choice(["open", "merged", "merged", "closed"])
                await conn.execute(
                    "INSERT INTO pull_requests(repo, number, author_id, state, merged_by_id) VALUES (?, ?, ?, ?, ?)",
                    (REPO, number, pick(), state, pick() if state == "merged" and rng.random() > 0.2 else None),
                )
            elif roll < 0.5:
                number = rng.choice(pulls)
                await conn.execute(
                    "UPDATE pull_requests SET state = ?, author_id = COALESCE(?, author_id), merged_by_id = ? "
                    "WHERE repo = ? AND number = ?",
                    (rng.choice(["open", "merged", "closed"]), pick(), pick(), REPO, number),
                )
            elif roll < 0.55:
                await conn.execute("DELETE FROM pull_requests WHERE repo = ? AND number = ?", (REPO, rng.choice(pulls)))
            elif roll < 0.75:
                await conn.execute(
                    "INSERT INTO reviews(repo, number, reviewer_id, state, submitted_at) VALUES (?, ?, ?, ?, ?)",
                    (REPO, rng.choice(pulls), pick(), rng.choice(["APPROVED", "COMMENTED", "DISMISSED"]), NOW),
                )
            elif roll < 0.8:
                await conn.execute(
                    "UPDATE reviews SET state = ?, reviewer_id = ? "
                    "WHERE id = (SELECT id FROM reviews WHERE id >= ? ORDER BY id LIMIT 1)",
                    (rng.choice(["APPROVED", "DISMISSED"]), pick(), rng.randrange(step + 1)),
                )
            elif roll < 0.82:
                await conn.execute("DELETE FROM reviews WHERE id = (SELECT MIN(id) FROM reviews)")
            elif roll < 0.92:
                number = 10_000 + step
                issues.append(number)
                closed = rng.random() > 0.3
                await conn.execute(
                    "INSERT INTO issues(repo, number, state, closed_by_id) VALUES (?, ?, ?, ?)",
                    (REPO, number, "closed" if closed else "open", pick() if closed else None),
                )
            elif roll < 0.96 and issues:
                await conn.execute(
                    "UPDATE issues SET state = ?, closed_by_id = ? WHERE repo = ? AND number = ?",
                    (rng.choice(["open", "closed"]), pick(), REPO, rng.choice(issues)),
                )
            elif roll < 0.97 and issues:
                await conn.execute("DELETE FROM issues WHERE repo = ? AND number = ?", (REPO, rng.choice(issues)))
            else:
                # An account is renamed, becomes ignored or is recognised as a bot by its name.
                uid = rng.choice(people)
                await conn.execute(
                    "INSERT INTO github_users(id, login, is_bot, ignored, updated_at) VALUES (?, ?, 0, 0, ?) "
                    "ON CONFLICT(id) DO UPDATE SET login = excluded.login, ignored = ?",
                    (uid, rng.choice([f"Zed{uid}", f"abe{uid}", f"x{uid}[bot]"]), NOW, int(rng.random() < 0.3)),
                )


def _shape(board: Board) -> tuple[object, ...]:
    return (board.page, board.pages, board.total, board.entries, board.viewer, board.viewer_linked)


async def _compare(db: Database, viewers: list[int]) -> int:
    """Every page of every category, for several viewers: the totals' board equals the counted one."""
    clock = ManualClock()
    fast, counted = Leaderboard(db, clock), Leaderboard(db, clock, totals=False)
    compared = 0
    for category in CATEGORIES:
        for viewer in viewers:
            first = await counted.board(GUILD, category, "all", 0, viewer)
            for page in [*range(first.pages), first.pages + 3]:
                expected = await counted.board(GUILD, category, "all", page, viewer)
                assert _shape(await fast.board(GUILD, category, "all", page, viewer)) == _shape(expected), (
                    category,
                    page,
                    viewer,
                )
                compared += 1
    return compared


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_totals_give_the_same_board_as_counting_the_ledger(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    people = await _users(db, rng, 60)
    await _write_history(db, rng, people, range(1500))
    viewers = [9000 + uid for uid in people[:40:3]] + [1]  # linked members, and someone who is not
    assert await _compare(db, viewers) > 4 * len(viewers)
    boards = [await Leaderboard(db, ManualClock()).board(GUILD, c, "all", 0, 1) for c in CATEGORIES]
    assert all(board.total > PAGE_SIZE for board in boards)  # several pages, so paging and ties are exercised
    assert any(a.rank == b.rank for board in boards for a, b in zip(board.entries, board.entries[1:], strict=False))


async def test_migration_counts_the_history_that_was_already_there(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.sqlite3")
    await db.open()
    try:
        await db.migrate([m for m in bundled_migrations() if m.version < 8])
        rng = random.Random(11)
        people = await _users(db, rng, 50)
        await _write_history(db, rng, people, range(800))
        await db.migrate()
        assert await db.fetchval("SELECT COUNT(*) FROM contribution_totals WHERE n > 0") > 0
        await _compare(db, [9000 + people[0], 1])
        await _write_history(db, rng, people, range(800, 1100))  # and the triggers carry on from there
        await _compare(db, [9000 + people[0]])
    finally:
        await db.close()


async def test_all_time_board_reads_one_index_and_no_ledger_table(db: Database) -> None:
    await _users(db, random.Random(5), 10)
    for sql, params in (
        (lb._PAGE, ("reviews", 10, 30, GUILD)),
        (f"{lb._TOTALS} WHERE t.github_id = ? AND t.category = ? AND t.listed = 1 AND t.n > 0", (GUILD, 4, "reviews")),
        ("SELECT SUM(people) FROM contribution_counts WHERE category = ? AND n > ?", ("reviews", 3)),
    ):
        plan = " | ".join(str(row["detail"]) for row in await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USE TEMP B-TREE" not in plan or "SCAN t" in plan, plan  # the index gives the order, or ten rows
        assert not re.search(r"\b(pull_requests|reviews|issues)\b", plan), plan
        assert re.search(r"contribution_totals_board|PRIMARY KEY \((github_id|category)=", plan), plan
