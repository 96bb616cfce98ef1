"""The ladder end to end: the real bot climbs members up Follower → Priest in training → Priest in the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

TIERS = [
    {"name": "Follower", "role_id": "Follower", "criteria": {"linked": True}},
    {"name": "Priest in training", "role_id": "Priest in training", "criteria": {"merged_prs": 1}},
    {"name": "Priest", "role_id": "Priest", "criteria": {"merges": 1}},
]


async def roles(sb: Any, member: str) -> set[str]:
    state = await sb.state()
    return set(next(m for m in state["members"] if m["name"] == member)["roles"])


async def linked_member(sb: Any, name: str) -> str:
    """Add a member with a GitHub account of the same login and link them as the owner would."""
    member_id = await sb.add_member(name)
    await sb.user(name)
    result = await sb.command("owner", "vestry link", member=name, github=name)
    assert "Linked" in result["responses"][0]["content"], result
    await sb.settle()
    return member_id


async def merged(sb: Any, author: str, by: str = "maintainer") -> None:
    await sb.merge(await sb.pull(author), by=by)
    await sb.settle()


async def ladder_posts(sb: Any) -> list[str]:
    return [m["content"] for m in await sb.messages("kudos") if " is now a " in m["content"]]


async def rejoin(sb: Any, name: str) -> str:
    """Bring a member who left back through ``POST /discord/members`` (same user, same id)."""
    return await sb.add_member(name)


async def test_linking_then_merges_climb_the_ladder_with_one_announcement_each(sandbox: Any) -> None:
    alice = await linked_member(sandbox, "alice")
    assert "Follower" in await roles(sandbox, "alice")
    await merged(sandbox, "alice")
    assert {"Follower", "Priest in training"} <= await roles(sandbox, "alice")
    await merged(sandbox, "alice")
    await linked_member(sandbox, "bob")
    await merged(sandbox, "bob", by="alice")
    assert "Priest" in await roles(sandbox, "alice")
    posts = await ladder_posts(sandbox)
    assert posts.count(f"<@{alice}> is now a Priest in training!") == 1
    assert posts.count(f"<@{alice}> is now a Priest!") == 1
    kudos = [m for m in await sandbox.messages("kudos") if m["content"] == f"<@{alice}> is now a Priest!"]
    assert kudos[0]["allowed_mentions"]["parse"] == [] and [str(u) for u in kudos[0]["allowed_mentions"]["users"]] == [
        alice
    ]


async def test_priest_with_approval_waits_for_a_maintainer_to_press_approve(sandbox_factory: Any) -> None:
    tiers = [*TIERS[:2], {**TIERS[2], "approval": True}]
    async with sandbox_factory(overrides={"ladder": {"tiers": tiers}}) as sb:
        await linked_member(sb, "alice")
        await linked_member(sb, "bob")
        await merged(sb, "bob", by="alice")
        assert "Priest" not in await roles(sb, "alice")
        (request,) = [m for m in await sb.messages("maintainers") if "qualifies for **Priest**" in m["content"]]
        approve = request["components"][0]["components"][0]["custom_id"]
        refused = await sb.click("bob", request["id"], approve)
        assert "Only maintainers" in refused["responses"][0]["content"]
        assert "Priest" not in await roles(sb, "alice")
        await sb.click("owner", request["id"], approve)
        await sb.settle()
        assert "Priest" in await roles(sb, "alice")
        (after,) = [m for m in await sb.messages("maintainers") if m["id"] == request["id"]]
        assert "approved" in after["content"] and after["components"] == []


@pytest.mark.parametrize(("demotion", "comes_back"), [("recompute", True), ("sticky", False)])
async def test_role_removed_by_hand_follows_the_demotion_policy_on_reconcile(
    sandbox_factory: Any, demotion: str, comes_back: bool
) -> None:
    async with sandbox_factory(overrides={"ladder": {"demotion": demotion}}) as sb:
        await linked_member(sb, "alice")
        await merged(sb, "alice")
        await sb.delete("/discord/members/alice/roles/Priest in training")
        await sb.run_job("ladder.reconcile")
        await sb.settle()
        assert ("Priest in training" in await roles(sb, "alice")) is comes_back
        assert "Follower" in await roles(sb, "alice")


@pytest.mark.parametrize("demotion", ["sticky", "recompute"])
async def test_member_who_leaves_and_rejoins_gets_their_roles_back(sandbox_factory: Any, demotion: str) -> None:
    # The reconcile asks the gateway for members by id, so alice's absence costs no refused REST read (10007).
    async with sandbox_factory(overrides={"ladder": {"demotion": demotion}}) as sb:
        alice = await linked_member(sb, "alice")
        await merged(sb, "alice")
        await sb.delete("/discord/members/alice")
        await sb.run_job("ladder.reconcile")
        assert await rejoin(sb, "alice") == alice
        assert await roles(sb, "alice") == set()
        await sb.run_job("ladder.reconcile")
        await sb.settle()
        assert {"Follower", "Priest in training"} <= await roles(sb, "alice")
        assert await sb.get("/discord/rejections") == []


async def test_role_above_the_bots_is_reported_and_other_promotions_go_through(sandbox: Any) -> None:
    await _role_above_the_bots(sandbox)
    # The bot knows from the role order that Discord would refuse the grant (403 50013) and never asks.
    assert await sandbox.get("/discord/rejections") == []


async def _role_above_the_bots(sandbox: Any) -> None:
    high = sandbox.sandbox.discord.create_role("Archpriest", 99)
    sandbox.sandbox.services.settings.ladder.tiers[2].role_id = high
    alice = await linked_member(sandbox, "alice")
    await linked_member(sandbox, "bob")
    await merged(sandbox, "bob", by="alice")
    assert "Priest in training" in await roles(sandbox, "bob")
    assert "Archpriest" not in await roles(sandbox, "alice")
    assert f"<@{alice}> is now a Priest!" in await ladder_posts(sandbox)
    await sandbox.run_job("ladder.reconcile")
    (job,) = [j for j in await sandbox.get("/jobs") if j["name"] == "ladder.reconcile"]
    assert job["last_ok"] is True, job
    status = (await sandbox.command("owner", "vestry status"))["responses"][0]["embeds"][0]
    problems = next(f["value"] for f in status["fields"] if f["name"] == "Problems")
    assert "@Archpriest is above the bot's own role" in problems
    assert "role_add could not be done" in problems


async def test_rank_and_leaderboard_show_the_right_numbers(sandbox_factory: Any) -> None:
    tiers = [TIERS[0], {**TIERS[1], "criteria": {"merged_prs": 3}}, TIERS[2]]
    async with sandbox_factory(overrides={"ladder": {"tiers": tiers}}) as sb:
        alice = await linked_member(sb, "alice")
        await merged(sb, "alice")
        for i in range(10):
            await sb.user(f"dev{i}")
            for _ in range(2):
                await sb.merge(await sb.pull(f"dev{i}"))
        await sb.settle()
        rank = (await sb.command("alice", "rank"))["responses"][0]["embeds"][0]
        assert "**Tier** Follower" in rank["description"] and "2 more merged PRs" in rank["description"]
        assert "Merged PRs 1" in rank["fields"][0]["value"]
        board = (await sb.command("alice", "leaderboard", category="merged_prs", period="all"))["responses"][0]
        embed = board["embeds"][0]
        assert embed["description"].count("\n") == 9 and "dev0" in embed["description"]
        assert f"<@{alice}>" not in embed["description"]
        assert next(f["value"] for f in embed["fields"] if f["name"] == "Your position") == "#11 with 1 merged PR"
        next_page = board["components"][0]["components"][1]["custom_id"]
        page_two = (await sb.click("alice", board["id"], next_page))["responses"][0]["embeds"][0]
        assert page_two["description"] == f"**11.** <@{alice}> — 1 merged PR"
        assert page_two["footer"]["text"] == "Page 2 of 2"
        wrong = await sb.command("alice", "leaderboard", category="commits")
        assert "choose one of" in wrong["responses"][0]["content"]


async def test_backfilled_history_places_members_silently_with_one_summary(sandbox: Any) -> None:
    alice = await linked_member(sandbox, "alice")
    bob = await linked_member(sandbox, "bob")
    history = [
        {"number": 900 + i, "author": author, "merged_at": "2024-05-01T10:00:00Z", "merged_by": "maintainer"}
        for i, author in enumerate(["alice", "bob", "alice"])
    ]
    await sandbox.post("/github/history", {"repo": "sandbox/project", "pulls": history})
    await sandbox.command("owner", "vestry backfill")
    await sandbox.settle()
    assert "Priest in training" in await roles(sandbox, "alice") and "Priest in training" in await roles(sandbox, "bob")
    posts = await ladder_posts(sandbox)
    assert (
        f"<@{alice}> is now a Priest in training!" not in posts
        and f"<@{bob}> is now a Priest in training!" not in posts
    )
    summaries = [m["content"] for m in await sandbox.messages("kudos") if "placed on the ladder" in m["content"]]
    assert summaries == ["2 members placed on the ladder from the project's history. Try /rank!"]


async def test_with_the_members_intent_a_rejoining_member_gets_roles_at_once_and_no_member_is_cached(
    sandbox_factory: Any,
) -> None:
    async with sandbox_factory(overrides={"discord": {"members_intent": True}}) as sb:
        alice = await linked_member(sb, "alice")
        await linked_member(sb, "bob")
        await merged(sb, "alice")
        await merged(sb, "bob", by="alice")
        await sb.delete("/discord/members/alice")
        assert await rejoin(sb, "alice") == alice
        await sb.settle()  # the join event alone brings the roles back: no reconcile ran
        assert {"Follower", "Priest in training", "Priest"} <= await roles(sb, "alice")
        bot = sb.sandbox.app.bot
        guild = bot.get_guild(sb.sandbox.services.settings.discord.guild_id)
        assert guild is not None and {m.id for m in guild.members} <= {bot.user.id}, "members are read over REST"


async def test_reconcile_reads_members_over_the_gateway_not_rest(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"ladder": {"demotion": "recompute"}}) as sb:
        await linked_member(sb, "alice")
        await linked_member(sb, "bob")
        await merged(sb, "alice")
        await sb.delete("/discord/members/alice/roles/Priest in training")
        before = (await sb.get("/requests"))["discord"]
        await sb.run_job("ladder.reconcile")
        await sb.settle()
        after = (await sb.get("/requests"))["discord"]
        assert "Priest in training" in await roles(sb, "alice")
        changed = {k: v["requests"] - before.get(k, {"requests": 0})["requests"] for k, v in after.items()}
        changed = {k: n for k, n in changed.items() if n}
        # One role put back; no member read over REST (they came by op 8 REQUEST_GUILD_MEMBERS).
        assert changed == {"PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}": 1}, changed
