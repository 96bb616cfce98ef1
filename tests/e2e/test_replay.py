"""Replay real history (pallets/flask's merged pull requests, pseudonymised) through the sandbox as webhooks.

Each row becomes a pull request opened and merged through the control API with the row's ``merged_at``; webhook
deliveries are news even when ``merged_at`` is long past. Every distinct author must be welcomed exactly once,
and the only other posts are merged-PR milestones (nobody is linked, so no other firsts are announced).
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.e2e.test_kudos import wait_until_live

CSV = SHARED / "data" / "flask-merged-prs.csv"
FAST_ROWS = 150
MILESTONES = (10, 25, 50, 100)
FIRST_PR_FOOTER = "First merged pull request"
MILESTONE_FOOTER = re.compile(r"^Milestone: (\d+) merged pull requests$")
FIELD_NAME = re.compile(r"^(.+) · (first merged pull request|(\d+)\w\w merged pull request)$")

pytestmark = pytest.mark.skipif(not CSV.exists(), reason=f"the shared history {CSV} is not available here")


@dataclass(frozen=True)
class Row:
    """One merged pull request of the history."""

    number: int
    author: str
    merged_at: str
    merged_by: str


def load_rows(limit: int | None = None) -> list[Row]:
    """Read the history, oldest merge first."""
    with CSV.open(encoding="utf-8", newline="") as handle:
        rows = [Row(int(r["pr_number"]), r["author"], r["merged_at"], r["merged_by"]) for r in csv.DictReader(handle)]
    return rows[:limit]


def expected_milestones(rows: list[Row]) -> Counter[tuple[str, int]]:
    """Return every (author, milestone) the history reaches."""
    merged = Counter(row.author for row in rows)
    return Counter((author, m) for author, count in merged.items() for m in MILESTONES if count >= m)


async def replay(sb: Any, rows: list[Row]) -> None:
    """Open and merge one pull request per row, as the row's author and merger, at the row's time."""
    known = {"maintainer"}
    for row in rows:
        merger = row.merged_by or "maintainer"
        for login in (row.author, merger):
            if login not in known:
                await sb.user(login)
                known.add(login)
        number = await sb.pull(row.author, f"flask #{row.number}")
        await sb.merge(number, by=merger, merged_at=row.merged_at)
    for _ in range(20):  # a long replay can outlast one settle call
        if not any((await sb.sandbox.settle(timeout=30)).values()):
            return
        await asyncio.sleep(0)
    raise AssertionError("the sandbox did not settle after the replay")


def celebrated(messages: list[dict[str, Any]]) -> tuple[Counter[str], Counter[tuple[str, int]], list[str]]:
    """Count the people welcomed and the milestones posted (single or combined); list anything else posted."""
    firsts: Counter[str] = Counter()
    milestones: Counter[tuple[str, int]] = Counter()
    others: list[str] = []
    for message in messages:
        embed = message["embeds"][0] if message["embeds"] else {}
        footer = embed.get("footer", {}).get("text", "")
        if footer == FIRST_PR_FOOTER:
            firsts[embed["author"]["name"]] += 1
        elif match := MILESTONE_FOOTER.match(footer):
            milestones[(embed["author"]["name"], int(match.group(1)))] += 1
        elif embed.get("fields"):
            for field in embed["fields"]:
                found = FIELD_NAME.match(field["name"])
                if found is None:
                    others.append(field["name"])
                elif found.group(3) is None:
                    firsts[found.group(1)] += 1
                else:
                    milestones[(found.group(1), int(found.group(3)))] += 1
        else:
            others.append(message["content"])
    return firsts, milestones, others


async def check_replay(sb: Any, rows: list[Row]) -> None:
    """Replay ``rows`` and check each author was welcomed once, each milestone posted once, and nothing else."""
    await wait_until_live(sb)
    await replay(sb, rows)
    authors = {row.author for row in rows}
    firsts, milestones, others = celebrated(await sb.messages("kudos"))
    assert others == []
    assert set(firsts) == authors and set(firsts.values()) == {1}
    assert milestones == expected_milestones(rows)
    decided = await sb.sandbox.services.db.fetchall(
        "SELECT u.login FROM celebrations c JOIN github_users u ON u.id = c.github_id "
        "WHERE c.key LIKE 'first-pr:%' AND c.post_key IS NOT NULL"
    )
    assert sorted(r["login"] for r in decided) == sorted(authors)


async def test_replaying_the_first_rows_of_real_history_welcomes_each_author_exactly_once(sandbox: Any) -> None:
    rows = load_rows(FAST_ROWS)
    assert len({row.author for row in rows}) > 80
    await check_replay(sandbox, rows)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_replaying_all_of_flasks_merged_prs_welcomes_746_people_exactly_once(sandbox: Any) -> None:
    rows = load_rows()
    assert len({row.author for row in rows}) == 746
    await check_replay(sandbox, rows)
