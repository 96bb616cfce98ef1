"""Repositories followed by id (renames, transfers, other spellings), account types, GitHub limits when polling."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_kudos import first_pr_posts, wait_until_live

REPO = "sandbox/project"


async def rows(sb: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await sb.sandbox.services.db.fetchall(sql)]


async def status_text(sb: Any) -> str:
    return str((await sb.command("owner", "vestry status"))["responses"])


async def newcomer_merges(sb: Any, login: str, repo: str) -> int:
    await sb.user(login)
    number = await sb.pull(login, f"First change by {login}", repo=repo)
    await sb.merge(number, repo=repo)
    await sb.settle()
    return number


async def test_a_renamed_then_transferred_repository_is_followed_and_each_merge_celebrated_once(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await newcomer_merges(sandbox, "alice", REPO)
    await sandbox.post(f"/github/repos/{REPO}/rename", {"full_name": "sandbox/renamed"})
    await newcomer_merges(sandbox, "bob", "sandbox/renamed")
    await sandbox.post("/github/repos/sandbox/renamed/rename", {"full_name": "elsewhere/renamed"})
    await newcomer_merges(sandbox, "carol", "elsewhere/renamed")
    posts = first_pr_posts(await sandbox.messages("kudos"))
    assert len(posts) == 3
    assert await rows(sandbox, "SELECT repo, COUNT(*) FROM pull_requests GROUP BY repo") == [("elsewhere/renamed", 3)]
    refused = await sandbox.get("/github/rejections")
    assert refused == []
    text = await status_text(sandbox)
    assert "renamed from sandbox/project to elsewhere/renamed; update config.toml" in text, text
    ignored = await rows(sandbox, "SELECT event, error FROM webhook_deliveries WHERE error IS NOT NULL")
    assert ignored == [], "deliveries carrying the new name are recorded, not ignored"


async def test_polling_follows_a_renamed_repository_with_its_query_intact(sandbox_factory: Any) -> None:
    async with sandbox_factory(poll=True) as sb:
        await wait_until_live(sb)
        await sb.run_job("github.poll")
        await sb.post(f"/github/repos/{REPO}/rename", {"full_name": "sandbox/moved"}, deliver="false")
        await sb.user("dana")
        number = await sb.pull("dana", "Merged after the rename", repo="sandbox/moved", deliver=False)
        await sb.merge(number, repo="sandbox/moved", deliver=False)
        await sb.clock(advance=5)
        await sb.run_job("github.poll")
        await sb.settle()
        # A merged pull request is listed only with state=all: the query survived the rename.
        assert await rows(sb, "SELECT repo, number, state FROM pull_requests") == [("sandbox/moved", number, "merged")]
        assert len(first_pr_posts(await sb.messages("kudos"))) == 1
        assert "renamed from sandbox/project to sandbox/moved" in await status_text(sb)


async def test_a_configuration_spelled_differently_from_github_keeps_one_row_per_pull_request(
    sandbox_factory: Any,
) -> None:
    async with sandbox_factory(overrides={"github": {"repositories": ["Sandbox/Project"]}}) as sb:
        await wait_until_live(sb)
        number = await newcomer_merges(sb, "erin", REPO)
        await sb.clock(advance=5)
        await sb.run_job("github.poll")
        await sb.settle()
        assert await rows(sb, "SELECT repo, number FROM pull_requests") == [(REPO, number)]
        assert len(first_pr_posts(await sb.messages("kudos"))) == 1
        assert "renamed" not in await status_text(sb)


async def test_every_actor_keeps_its_account_type_and_deleted_accounts_become_ghost(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await sandbox.user("acme-org", "Organization")
    await sandbox.user("renovate[bot]", "Bot")
    for author in ("acme-org", "renovate[bot]", "frank"):
        await sandbox.merge(await sandbox.pull(author, f"Change by {author}"))
    later = await sandbox.pull("frank", "Merged after frank deleted the account")
    await sandbox.delete("/github/users/frank")
    await sandbox.merge(later)
    await sandbox.clock(advance=5)
    await sandbox.run_job("github.poll")
    await sandbox.command("owner", "vestry backfill")
    await sandbox.settle()
    types = dict(await rows(sandbox, "SELECT login, account_type FROM github_users"))
    assert types["acme-org"] == "Organization" and types["renovate[bot]"] == "Bot" and types["frank"] == "User"
    ghost = await rows(sandbox, "SELECT id, login, account_type FROM github_users WHERE id = 10137")
    assert ghost == [(10137, "ghost", "User")]
    db = sandbox.sandbox.services.db
    assert await db.fetchval("SELECT author_id FROM pull_requests WHERE number = ?", (later,)) == 10137


async def test_a_secondary_limit_without_retry_after_waits_a_minute_for_that_resource_only(
    sandbox_factory: Any,
) -> None:
    async with sandbox_factory(poll=True) as sb:
        await wait_until_live(sb)
        await sb.run_job("github.poll")
        await sb.user("gina")
        number = await sb.pull("gina", "Waits out a secondary limit", deliver=False)
        await sb.merge(number, deliver=False)
        await sb.clock(advance=5)
        fault = {
            "method": "GET",
            "route": "/repos/{owner}/{repo}/pulls",
            "status": "secondary-rate-limit-no-retry-after",
        }
        await sb.post("/github/faults", fault)
        await sb.run_job("github.poll")
        worker = sb.sandbox.services.github
        until = worker.backoff_until
        now = sb.sandbox.clock.now()
        assert until is not None and 55 <= (until - now).total_seconds() <= 65, until
        assert set(worker.backoffs) == {"core"}, "GraphQL and search are not held back"
        assert await rows(sb, "SELECT number FROM pull_requests") == []
        await sb.clock(advance=120)
        await sb.run_job("github.poll")
        await sb.settle()
        assert await rows(sb, "SELECT number, state FROM pull_requests") == [(number, "merged")]


async def test_45000_stars_are_polled_newest_first_without_a_422(sandbox_factory: Any) -> None:
    async with sandbox_factory(poll=True) as sb:
        await wait_until_live(sb)
        await sb.run_job("github.poll")
        await sb.post("/github/stars", {"repo": REPO, "count": 45_000})
        await sb.clock(advance=5)
        await sb.run_job("github.poll")
        await sb.settle()
        assert await sb.get("/github/rejections") == []
        newest = sb.sandbox.github.world.repo(REPO).stars
        latest = max(newest, key=lambda login: (newest[login], login))
        stored = await rows(sb, "SELECT COUNT(*), MAX(starred_at) FROM stars")
        assert stored[0][0] >= 100
        assert latest in {row[0] for row in await rows(sb, "SELECT login FROM github_users")}
        counts = (await sb.get("/requests"))["github"]
        assert "GET /repos/{owner}/{repo}/stargazers" not in counts


async def test_a_spent_graphql_budget_holds_back_only_stars_while_rest_polling_goes_on(sandbox_factory: Any) -> None:
    async with sandbox_factory(poll=True, expect_rejections=True) as sb:
        await wait_until_live(sb)
        await sb.run_job("github.poll")
        sb.sandbox.github.set_rate_limit("graphql", 0)
        await sb.post("/github/stars", {"repo": REPO, "user": "henry"}, deliver=False)
        number = await sb.pull("ivy", "Merged while GraphQL is spent", deliver=False)
        await sb.merge(number, deliver=False)
        await sb.clock(advance=5)
        await sb.run_job("github.poll")
        await sb.settle()
        assert await rows(sb, "SELECT number, state FROM pull_requests") == [(number, "merged")]
        assert await rows(sb, "SELECT COUNT(*) FROM stars") == [(0,)]
        assert [r["code"] for r in await sb.get("/github/rejections")] == ["RATE_LIMITED"]
        sb.sandbox.github.set_rate_limit("graphql", 5000)
        await sb.clock(advance=3700)
        await sb.run_job("github.poll")
        await sb.settle()
        assert await rows(sb, "SELECT COUNT(*) FROM stars") == [(1,)]
