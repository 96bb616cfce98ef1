"""One rule of what counts, end to end: what celebrations exclude, the ladder and the leaderboards exclude too.

Fails on the code before bot/counting.py: three COMMENTED reviews of one's own pull request and three of one's own
issues closed as "not planned" met `reviews = 3` and `issues_closed = 3` tiers and ranked the member #1; one friend
running /kudos three times met a `kudos = 3` tier; an organisation's merged pull request was celebrated; an
account removed from `github.ignored_accounts` stayed ignored (the flag was written when the account was last seen).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.config import SANDBOX_REPO
from tests.reliability import checks

TIERS = [
    {"name": "Follower", "role_id": "Follower", "criteria": {"linked": True}},
    {"name": "Priest in training", "role_id": "Priest in training", "criteria": {"reviews": 3}},
    {"name": "Priest", "role_id": "Priest", "criteria": {"issues_closed": 3}},
]


async def roles(sb: Any, member: str) -> set[str]:
    """The names of the roles a member holds."""
    state = await sb.state()
    return set(next(m for m in state["members"] if m["name"] == member)["roles"])


async def linked(sb: Any, name: str) -> None:
    """Add a member and link them to a GitHub account of the same login, as a maintainer does."""
    await sb.add_member(name)
    await sb.user(name)
    result = await sb.command("owner", "vestry link", member=name, github=name)
    assert "Linked" in result["responses"][0]["content"], result


async def test_own_reviews_own_not_planned_closes_and_one_friends_kudos_earn_nothing(sandbox_factory: Any) -> None:
    overrides = {"ladder": {"tiers": TIERS}}
    async with sandbox_factory(overrides=overrides) as sb:
        github = sb.sandbox.github
        await linked(sb, "alice")
        number = await sb.pull("alice", "My own change")
        for _ in range(3):
            await sb.post(f"/github/pulls/{SANDBOX_REPO}/{number}/reviews", {"by": "alice", "state": "COMMENTED"})
        for index in range(3):
            issue = await github.open_issue(SANDBOX_REPO, "alice", f"Idea {index}")
            await github.close_issue(SANDBOX_REPO, int(issue["number"]), "alice", reason="not_planned")
        await sb.settle()
        assert await roles(sb, "alice") == {"Follower"}
        for category in ("reviews", "issues_closed"):
            board = (await sb.command("alice", "leaderboard", category=category, period="all"))["responses"][0]
            assert "alice" not in str(board), board
        posts = [m["content"] + str(m["embeds"]) for m in await sb.messages("kudos")]
        assert not any("review" in text.lower() or "issue" in text.lower() for text in posts), posts
        # Someone else's reviews and completed closes still count.
        await linked(sb, "bob")
        for index in range(3):
            other = await sb.pull("maintainer", f"Maintainer change {index}")
            await sb.post(f"/github/pulls/{SANDBOX_REPO}/{other}/reviews", {"by": "bob", "state": "COMMENTED"})
            issue = await github.open_issue(SANDBOX_REPO, "alice", f"Bug {index}")
            await github.close_issue(SANDBOX_REPO, int(issue["number"]), "bob")
        await sb.settle()
        assert await roles(sb, "bob") == {"Follower", "Priest in training", "Priest"}
    checks.record("one counting rule", cases=12, held="own reviews/not-planned closes earn nothing")


async def test_one_friends_kudos_count_once_toward_a_kudos_tier(sandbox_factory: Any) -> None:
    tiers = [
        {"name": "Follower", "role_id": "Follower", "criteria": {"linked": True}},
        {"name": "Priest in training", "role_id": "Priest in training", "criteria": {"kudos": 3}},
    ]
    async with sandbox_factory(overrides={"ladder": {"tiers": tiers, "kudos_per_giver": 1}}) as sb:
        await linked(sb, "alice")
        for name in ("bob", "carol", "dave"):
            await sb.add_member(name)
        for _ in range(3):
            await sb.command("bob", "kudos", member="alice", reason="thanks")
        await sb.settle()
        assert await roles(sb, "alice") == {"Follower"}
        for name in ("carol", "dave"):
            await sb.command(name, "kudos", member="alice", reason="thanks")
        await sb.settle()
        assert await roles(sb, "alice") == {"Follower", "Priest in training"}
    checks.record("kudos per giver", cases=5, held="one friend x3 is not three kudos")


async def test_an_organisations_merge_is_not_celebrated(sandbox: Any) -> None:
    await sandbox.user("acme-org", type="Organization")
    await sandbox.merge(await sandbox.pull("acme-org", "Bump the version"))
    await sandbox.settle()
    assert await sandbox.messages("kudos") == []
    checks.record("organisation accounts", cases=1, held="not celebrated")
