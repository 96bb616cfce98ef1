"""A member's standing is read in few statements, each through an index, and counts what one statement per count did.

/rank and /profile read a member's counts on every call (and the ladder on every event that names them): the
statements below must give the answers of the one-count-per-statement reads they replaced, search the member's
rows rather than the server's, and stay few, since every statement is a trip to the database thread.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks import dataset
from bot.clock import ManualClock
from bot.config import Settings, parse_settings
from bot.db import Database
from bot.services.ladder import Ladder
from bot.services.recognition import MemberRef, Recognition
from bot.services.stats import Contributions, github_contributions, member_contributions, member_windows
from bot.timeutil import iso

GUILD = 1000
MEMBERS = [10**17 + index for index in range(300)]
UNLINKED = 7  # a member without a GitHub account, who was given kudos and a recognition
NOW = dataset.NOW
TIERS: list[dict[str, Any]] = [
    {"name": "Follower", "role_id": 3001, "criteria": {"linked": True}},
    {"name": "Regular", "role_id": 3002, "criteria": {"merged_prs": 2, "window": "365d"}},
    {"name": "Elder", "role_id": 3003, "criteria": {"merges": 1, "kudos": 2}},
]


def settings() -> Settings:
    """One guild whose ladder counts all time and the last year, with kudos capped at two per giver."""
    return parse_settings(
        {
            "discord": {"guild_id": GUILD, "channels": {"kudos": 2000}},
            "github": {"repositories": [dataset.REPO]},
            "ladder": {"tiers": TIERS, "kudos_per_giver": 2},
        }
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small community's ledger (the benchmarks' data set), plus the cases the data set does not draw."""
    path = tmp_path_factory.mktemp("standing") / "vestry.sqlite3"
    asyncio.run(
        dataset.build(
            path,
            now=NOW,
            guild_id=GUILD,
            discord_ids=MEMBERS,
            shape=dataset.Shape(rows=6_000, members=300, unlinked=60),
        )
    )
    conn = sqlite3.connect(path)
    with conn:
        at = dataset._t(NOW - timedelta(days=3))
        # A self-review and an issue its closer closed as not planned: neither counts.
        conn.execute(
            "INSERT INTO reviews(id, repo, number, reviewer_id, state, submitted_at, historical) "
            "SELECT 999999, repo, number, author_id, 'APPROVED', ?, 0 FROM pull_requests WHERE author_id = 1 LIMIT 1",
            (at,),
        )
        conn.execute(
            "INSERT INTO issues(repo, number, title, url, author_id, state, labels, created_at, closed_at, "
            "closed_by_id, state_reason, historical) VALUES (?, 999999, 'x', 'u', 1, 'closed', '[]', ?, ?, 1, "
            "'not_planned', 0)",
            (dataset.REPO, at, at),
        )
        for giver in (MEMBERS[1], MEMBERS[1], MEMBERS[1], MEMBERS[2]):
            conn.execute(
                "INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, reason, at) VALUES (?, ?, ?, 'x', ?)",
                (GUILD, giver, UNLINKED, at),
            )
        conn.execute(
            "INSERT INTO recognitions(guild_id, member_id, kind, link, by_id, at) VALUES (?, ?, 'docs', 'l', 1, ?)",
            (GUILD, UNLINKED, at),
        )
    conn.close()
    return path


@pytest.fixture
async def db(built: Path) -> AsyncIterator[Database]:
    database = Database(built)
    await database.open()
    yield database
    await database.close()


async def one_count_per_statement(
    db: Database, discord_id: int, since: datetime | None, cap: int | None
) -> Contributions:
    """The reads the single statement replaced, one count per statement, as they were written."""
    start = iso(since) if since else ""
    link = await db.fetchval("SELECT github_id FROM links WHERE guild_id = ? AND discord_id = ?", (GUILD, discord_id))
    counts: dict[str, Any] = {}
    if link is not None:
        for name, sql in {
            "merged_prs": "SELECT COUNT(*) FROM counted_merged_prs WHERE author_id = ? AND merged_at >= ?",
            "reviews": "SELECT COUNT(*) FROM counted_reviews WHERE reviewer_id = ? AND submitted_at >= ?",
            "merges": "SELECT COUNT(*) FROM counted_merges WHERE merged_by_id = ? AND merged_at >= ?",
            "issues_closed": "SELECT COUNT(*) FROM counted_issue_closes WHERE closed_by_id = ? AND closed_at >= ?",
        }.items():
            counts[name] = int(await db.fetchval(sql, (link, start), default=0))
        counts["starred"] = bool(await db.fetchval("SELECT 1 FROM stars WHERE user_id = ?", (link,)))
    counts["kudos"] = int(
        await db.fetchval(
            "SELECT COALESCE(SUM(MIN(n, ?)), 0) FROM (SELECT COUNT(*) AS n FROM peer_kudos "
            "WHERE guild_id = ? AND receiver_id = ? AND at >= ? GROUP BY giver_id)",
            (cap or 2**62, GUILD, discord_id, start),
            default=0,
        )
    )
    counts["recognitions"] = int(
        await db.fetchval(
            "SELECT COUNT(*) FROM recognitions WHERE guild_id = ? AND member_id = ? AND at >= ?",
            (GUILD, discord_id, start),
            default=0,
        )
    )
    return Contributions(**counts)


async def test_one_statement_counts_every_window_as_one_statement_per_count_did(db: Database) -> None:
    sinces = [None, NOW - timedelta(days=30), NOW - timedelta(days=365), NOW - timedelta(days=3000)]
    members = [*MEMBERS[:40], *MEMBERS[::7], UNLINKED]
    capped_differs = windows_differ = False
    for member in members:
        for cap in (None, 1, 2):
            found = await member_windows(db, GUILD, member, sinces, kudos_per_giver=cap)
            expected = [await one_count_per_statement(db, member, since, cap) for since in sinces]
            assert found == expected, (member, cap)
            windows_differ |= found[0] != found[1]
        capped = await member_contributions(db, GUILD, member, kudos_per_giver=1)
        capped_differs |= capped.kudos != (await member_contributions(db, GUILD, member)).kudos
    # The data holds what the rules tell apart: repeated kudos from one giver, work older than a window.
    assert capped_differs and windows_differ
    assert await member_contributions(db, GUILD, UNLINKED, kudos_per_giver=2) == Contributions(kudos=3, recognitions=1)


async def test_an_accounts_counts_can_be_limited_to_repositories(db: Database) -> None:
    busy = await github_contributions(db, 1)
    assert busy.merged_prs > 0 and busy.reviews > 0 and busy.starred in (True, False)
    assert await github_contributions(db, 1, repos=[dataset.REPO]) == busy
    assert await github_contributions(db, 1, repos=["elsewhere/other"]) == Contributions()
    recent = await github_contributions(db, 1, since=NOW - timedelta(days=365))
    assert recent.merged_prs < busy.merged_prs


async def traced(db: Database, call: Any) -> list[str]:
    """Run ``call`` and return every statement it ran, with its values."""
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    try:
        await call()
    finally:
        await db.conn.set_trace_callback(None)
    return statements


def services(db: Database) -> tuple[Ladder, Recognition]:
    clock = ManualClock(NOW)
    config = settings()
    ladder = Ladder(db, clock, config)
    return ladder, Recognition(db, clock, config, ladder=ladder)


@pytest.mark.parametrize("command", ["rank", "profile"])
async def test_rank_and_profile_search_the_members_rows_in_few_statements(db: Database, command: str) -> None:
    ladder, recognition = services(db)
    member = MEMBERS[3]
    if command == "rank":
        statements = await traced(db, lambda: ladder.progress(GUILD, member))
        most = 3  # the link, every count of every window, grants and promotion requests
    else:
        statements = await traced(db, lambda: recognition.profile(GUILD, MemberRef(member, "m"), member))
        most = 7  # the link, the counts, recognitions by kind, the first pull request, and /rank's three
    assert 0 < len(statements) <= most, statements
    for sql in statements:
        plan = " | ".join(str(row["detail"]) for row in await db.fetchall(f"EXPLAIN QUERY PLAN {sql}"))
        # No table is walked, and none is searched by the server alone (every kudos of the server, say).
        assert not re.search(r"\bSCAN (?!(?:\d+ )?CONSTANT ROWS?|\(subquery-\d+\)|span\b)", plan), (sql, plan)
        assert "(guild_id=?)" not in plan, (sql, plan)
    kudos = [sql for sql in statements if "peer_kudos" in sql]
    assert kudos and all("INDEXED BY peer_kudos_receiver" in sql for sql in kudos)


async def test_rank_answers_from_the_counts_of_each_window(db: Database) -> None:
    ladder, _ = services(db)
    seen = set()
    for member in MEMBERS[:60]:
        progress = await ladder.progress(GUILD, member)
        year = await one_count_per_statement(db, member, NOW - timedelta(days=365), 2)
        every = await one_count_per_statement(db, member, None, 2)
        assert progress.contributions == every
        elder, regular = every.merges >= 1 and every.kudos >= 2, year.merged_prs >= 2
        expected = "Elder" if elder else "Regular" if regular else "Follower"
        assert progress.current == expected, (member, year, every, progress)
        seen.add(expected)
    assert seen == {"Follower", "Regular", "Elder"}
