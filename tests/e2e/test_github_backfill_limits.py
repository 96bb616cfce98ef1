"""The backfill against GitHub's real answers: a spent GraphQL budget, 502s on large pages, 64-bit ids."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_kudos import wait_until_live
from tests.e2e.test_linking import wait_for_text

REPO = "sandbox/project"
BIG_REVIEW_ID = 2**31 + 17
BIG_PULL_ID = 2**33 + 5


def history(count: int, reviews: int = 1) -> list[dict[str, Any]]:
    """``count`` past merged pull requests, each with ``reviews`` approvals."""
    return [
        {
            "number": 1000 + i,
            "author": f"veteran{i % 40}",
            "merged_at": f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
            "merged_by": "maintainer",
            "labels": ["docs"],
            "reviews": [{"by": f"reviewer{j}", "state": "APPROVED"} for j in range(reviews)],
        }
        for i in range(count)
    ]


async def backfill(sb: Any) -> str:
    """Run /vestry backfill as the owner and return its final message, once the import has ended."""
    result = await sb.command("owner", "vestry backfill")
    return str((await wait_for_text(sb, result["interaction"], "Backfill finished", timeout=60))["content"])


async def counts(sb: Any) -> tuple[int, int]:
    db = sb.sandbox.services.db
    pulls = await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'", default=0)
    reviews = await db.fetchval("SELECT COUNT(*) FROM reviews", default=0)
    return int(pulls), int(reviews)


async def test_a_spent_graphql_budget_mid_backfill_waits_resumes_by_itself_and_announces_nothing(
    sandbox_factory: Any,
) -> None:
    async with sandbox_factory(device_interval=1, expect_rejections=True) as sb:
        await wait_until_live(sb)
        await sb.post("/github/history", {"repo": REPO, "pulls": history(250)})
        github = sb.sandbox.github
        # Each page of 100 pull requests (with labels and reviews) costs 3 points: the third page finds the budget
        # spent, and GitHub answers HTTP 200 with a RATE_LIMITED error.
        github.set_rate_limit("graphql", 5)
        text = await backfill(sb)
        assert "rate limit is spent; it resumes by itself at" in text, text
        assert await counts(sb) == (200, 200)
        refused = await sb.get("/github/rejections")
        assert [r["code"] for r in refused] == ["RATE_LIMITED"]
        status = (await sb.command("owner", "vestry status"))["responses"][-1]
        assert "waits for GitHub's rate limit" in str(status)

        github.set_rate_limit("graphql", 5000)
        await sb.run_job("github.backfill")  # before the reset: it keeps waiting, asks nothing
        assert await counts(sb) == (200, 200)
        await sb.clock(advance=3700)
        await sb.run_job("github.backfill")
        await sb.settle()
        assert await counts(sb) == (250, 250)
        historical = await sb.sandbox.services.db.fetchval("SELECT MIN(historical) FROM pull_requests", default=0)
        assert historical == 1
        assert await sb.messages("kudos") == []
        assert await sb.sandbox.services.backfill.is_done(REPO)


async def test_502_on_large_pages_asks_for_smaller_pages_and_completes(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await sandbox.post("/github/history", {"repo": REPO, "pulls": history(120)})
    # GitHub times out on a busy repository: a page of 100 pulls with 20 labels and 100 reviews each is 12,100
    # nodes; only pages of at most 3,000 nodes get through (12 pulls: 1,452 nodes).
    await sandbox.post("/github/faults", {"status": "graphql-timeout", "max_nodes": 3000, "times": 6})
    assert "120 pull requests" in await backfill(sandbox)
    assert await counts(sandbox) == (120, 120)
    received = sandbox.sandbox.github.graphql.received
    sizes = [variables["first"] for query, variables in received if "query BackfillPulls" in query]
    assert sizes[:4] == [100, 50, 25, 12], sizes
    assert 24 in sizes[4:], "the page size grows back after pages succeed"
    assert await sandbox.get("/github/rejections") == []


async def test_review_and_pull_ids_above_2_31_are_one_row_from_webhooks_and_backfill(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    pulls = history(1, reviews=0)
    pulls[0]["id"] = BIG_PULL_ID
    pulls[0]["reviews"] = [{"by": "reviewer1", "state": "APPROVED", "id": BIG_REVIEW_ID}]
    await sandbox.post("/github/history", {"repo": REPO, "pulls": pulls})
    sandbox.sandbox.github.set_next_id("review", 2**32 + 1)
    number = await sandbox.pull("newcomer", "Fix it")
    await sandbox.post(f"/github/pulls/{REPO}/{number}/reviews", {"by": "reviewer2", "state": "APPROVED"})
    await sandbox.merge(number)
    await sandbox.settle()
    assert "2 pull requests, 2 reviews" in await backfill(sandbox)
    await sandbox.settle()
    db = sandbox.sandbox.services.db
    live_review = sandbox.sandbox.github.world.pull(REPO, number).reviews[0].id
    assert live_review > 2**32
    rows = await db.fetchall("SELECT id, typeof(id) AS kind FROM reviews ORDER BY id")
    assert [(row["id"], row["kind"]) for row in rows] == [(BIG_REVIEW_ID, "integer"), (live_review, "integer")]
    assert await counts(sandbox) == (2, 2)
