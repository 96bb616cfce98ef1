"""GitHub ingestion end to end: webhooks and polling into one ledger, backfill, catch-up after downtime."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bot.clock import ManualClock
from bot.sandbox.github_emulator import GitHubEmulator
from bot.sandbox.runner import Sandbox

REPO = "sandbox/project"


async def make_activity(sb: Any, deliver: bool = True) -> None:
    """A merge, a review, a review request, a closed issue and a star."""
    for login in ("alice", "bob", "carol"):
        await sb.post("/github/users", {"login": login}, deliver=deliver)
    first = await sb.pull("alice", "Fix the docs", deliver=deliver)
    second = await sb.pull("bob", "Add a test", deliver=deliver)
    await sb.post(f"/github/pulls/{REPO}/{second}/review-requests", {"reviewers": ["carol"]}, deliver=deliver)
    await sb.post(f"/github/pulls/{REPO}/{first}/reviews", {"by": "carol", "state": "APPROVED"}, deliver=deliver)
    await sb.merge(first, deliver=deliver)
    issue = await sb.post("/github/issues", {"repo": REPO, "author": "bob", "title": "Crash"}, deliver=deliver)
    await sb.post(f"/github/issues/{REPO}/{issue['number']}/close", {"by": "maintainer"}, deliver=deliver)
    await sb.post("/github/stars", {"repo": REPO, "user": "carol"}, deliver=deliver)


async def ledger_counts(sb: Any) -> dict[str, int]:
    db = sb.sandbox.services.db
    queries = {
        "merged": "SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'",
        "open": "SELECT COUNT(*) FROM pull_requests WHERE state = 'open'",
        "reviews": "SELECT COUNT(*) FROM reviews",
        "pending_requests": "SELECT COUNT(*) FROM review_requests WHERE removed_at IS NULL",
        "closed_issues": "SELECT COUNT(*) FROM issues WHERE state = 'closed' AND closed_by_id IS NOT NULL",
        "stars": "SELECT COUNT(*) FROM stars",
        "events": "SELECT COUNT(*) FROM events",
    }
    return {name: int(await db.fetchval(sql, default=0)) for name, sql in queries.items()}


EXPECTED = {"merged": 1, "open": 1, "reviews": 1, "pending_requests": 1, "closed_issues": 1, "stars": 1}


async def test_changes_reach_the_ledger_by_webhook(sandbox: Any) -> None:
    await make_activity(sandbox)
    await sandbox.settle()
    counts = await ledger_counts(sandbox)
    assert {k: counts[k] for k in EXPECTED} == EXPECTED


async def test_changes_reach_the_ledger_by_polling_and_an_idle_poll_costs_only_304s(sandbox_factory: Any) -> None:
    async with sandbox_factory(poll=True) as sb:
        await make_activity(sb, deliver=False)
        await sb.clock(advance=5)
        await sb.run_job("github.poll")
        await sb.settle()
        counts = await ledger_counts(sb)
        assert {k: counts[k] for k in EXPECTED} == EXPECTED
        await sb.clock(advance=5)
        await sb.run_job("github.poll")
        before = (await sb.get("/requests"))["github"]
        await sb.run_job("github.poll")
        after = (await sb.get("/requests"))["github"]
        spent = {route: after[route]["requests"] - before.get(route, {}).get("requests", 0) for route in after}
        unchanged = {
            route: after[route]["not_modified"] - before.get(route, {}).get("not_modified", 0) for route in after
        }
        assert sum(spent.values()) > 0
        assert spent == unchanged, f"an idle poll made requests that were not 304s: {spent} vs {unchanged}"
        assert (await ledger_counts(sb))["events"] == counts["events"]


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_replayed_delivery_changes_nothing_and_a_wrong_signature_is_refused(sandbox: Any) -> None:
    info = sandbox.sandbox.ready_info
    await sandbox.user("dave")
    number = await sandbox.pull("dave", "Speed up startup")
    await sandbox.merge(number)
    await sandbox.settle()
    before = await ledger_counts(sandbox)
    payload = {
        "action": "closed",
        "number": number,
        "repository": {"full_name": REPO},
        "sender": {"login": "maintainer", "id": sandbox.sandbox.github.user_id("maintainer"), "type": "User"},
        "pull_request": {
            "number": number,
            "title": "Speed up startup",
            "state": "closed",
            "merged": True,
            "html_url": "x",
            "merged_at": "2026-01-01T00:00:00Z",
            "user": {"login": "dave", "id": sandbox.sandbox.github.user_id("dave")},
        },
    }
    body = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        bad = await http.post(info["webhook"], data=body, headers=headers | {"X-Hub-Signature-256": "sha256=00"})
        assert bad.status == 401
        for _ in range(2):
            ok = await http.post(
                info["webhook"],
                data=body,
                headers=headers | {"X-Hub-Signature-256": signed(body, info["webhook_secret"])},
            )
            assert ok.status in {200, 202}
    await sandbox.settle()
    assert await ledger_counts(sandbox) == before


async def test_backfill_of_2500_merged_prs_takes_at_most_40_requests(sandbox: Any) -> None:
    pulls = [
        {
            "number": n,
            "author": f"dev{n % 400}",
            "merged_at": f"2020-01-{1 + n % 28:02d}T12:00:00Z",
            "merged_by": "maintainer",
        }
        for n in range(1, 2501)
    ]
    await sandbox.post("/github/history", {"repo": REPO, "pulls": pulls})
    before = (await sandbox.get("/requests"))["github"]
    result = await sandbox.command("owner", "vestry backfill")
    after = (await sandbox.get("/requests"))["github"]
    used = sum(v["requests"] for v in after.values()) - sum(v["requests"] for v in before.values())
    assert used <= 40
    assert "2500 pull requests" in result["responses"][-1]["content"]
    await sandbox.settle()
    db = sandbox.sandbox.services.db
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged' AND historical = 1") == 2500
    assert await sandbox.messages("kudos") == []


async def test_plain_member_cannot_backfill(sandbox: Any) -> None:
    await sandbox.add_member("mallory")
    result = await sandbox.command("mallory", "vestry backfill")
    assert "Only maintainers" in result["responses"][0]["content"]


async def test_changes_made_while_the_bot_is_down_are_caught_up_after_restart(tmp_path: Path) -> None:
    github = GitHubEmulator(clock=ManualClock())
    await github.start()
    try:
        await github.create_repo(REPO, deliver=False)
        await github.create_user("maintainer", deliver=False)
        first = Sandbox(github=github, workdir=str(tmp_path))
        await first.start()
        github.clock = first.clock  # one clock across the restart
        await first.stop()
        # The bot is down: GitHub's webhooks fail and are not redelivered.
        await github.create_user("erin", deliver=False)
        pull = await github.open_pull(REPO, "erin", "Offline change")
        await github.merge_pull(REPO, pull["number"], "maintainer")
        issue = await github.open_issue(REPO, "erin", "Offline issue")
        await github.close_issue(REPO, issue["number"], "maintainer")
        await github.star(REPO, "erin")
        second = Sandbox(github=github, workdir=str(tmp_path))
        await second.start()
        try:
            for _ in range(100):
                if await second.services.db.fetchval("SELECT COUNT(*) FROM stars"):
                    break
                await second.settle(timeout=0.2)
            await second.settle()
            db = second.services.db
            assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'") == 1
            assert await db.fetchval("SELECT COUNT(*) FROM issues WHERE state = 'closed'") == 1
            assert await db.fetchval("SELECT COUNT(*) FROM stars") == 1
            assert first.discord.rejections() == second.discord.rejections() == []
        finally:
            await second.stop()
    finally:
        await github.stop()
