"""Thanks where people talk, end to end: the context menus, their modal, and kudos by reaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.sandbox.client import ControlClient

PRAY = "🙏"


async def until(sb: ControlClient, check: Callable[[], Awaitable[bool]]) -> None:
    """Settle and look again until ``check`` holds (the bot handles gateway events on its own tasks)."""
    for _ in range(200):
        await sb.settle()
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot never got there")


async def say(sb: ControlClient, member: str, content: str, channel: str = "general") -> str:
    """Post a message as a member; return its id."""
    return str((await sb.post("/discord/messages", {"channel": channel, "member": member, "content": content}))["id"])


async def menu(sb: ControlClient, member: str, name: str, **target: Any) -> dict[str, Any]:
    """Run a context menu on ``target_message`` or ``target_member`` (and an optional ``locale``)."""
    return await sb.post("/discord/commands", {"member": member, "command": name, **target})  # type: ignore[no-any-return]


async def submit(sb: ControlClient, member: str, opened: dict[str, Any], note: str = "") -> dict[str, Any]:
    """Fill in and submit the modal a menu answered with."""
    (answer,) = opened["responses"]
    modal = answer["modal"]
    (field,) = modal["fields"]
    body = {"member": member, "interaction": opened["interaction"], "custom_id": modal["custom_id"]}
    return await sb.post("/discord/modals", {**body, "values": {field["custom_id"]: note}})  # type: ignore[no-any-return]


async def kudos_received(sb: ControlClient, member: str) -> int:
    """Count the kudos a member holds, as /profile and the ladder count them."""
    member_id = _member_id(sb, member)
    db = sb.sandbox.services.db  # type: ignore[attr-defined]
    return int(await db.fetchval("SELECT COUNT(*) FROM peer_kudos WHERE receiver_id = ?", (member_id,)))


def _member_id(sb: ControlClient, member: str) -> int:
    return int(sb.sandbox.discord.member_id(member))  # type: ignore[attr-defined]


def only(result: dict[str, Any]) -> dict[str, Any]:
    (answer,) = result["responses"]
    return answer  # type: ignore[no-any-return]


async def test_thank_for_this_records_one_kudos_and_posts_naming_the_message(sandbox: ControlClient) -> None:
    sb = sandbox
    alice, bob = await sb.add_member("alice"), await sb.add_member("bob")
    message = await say(sb, "alice", "Run `pip install -e .` first, then the tests pass.")
    opened = await menu(sb, "bob", "Thank for this", target_message=message)
    assert only(opened)["modal"]["title"] == "Thank alice"
    post = only(await submit(sb, "bob", opened, "Saved my afternoon"))
    guild = (await sb.state())["guild"]["id"]
    general = next(c["id"] for c in (await sb.state())["channels"] if c["name"] == "general")
    link = f"https://discord.com/channels/{guild}/{general}/{message}"
    assert post["ephemeral"] is False
    assert post["content"] == f"🙌 <@{alice}>, <@{bob}> says thank you for [this message]({link})!"
    assert post["embeds"][0]["description"] == "Saved my afternoon"
    assert post["embeds"][0]["footer"]["text"] == "1st kudos received"
    await sb.settle()
    posts = [m for m in await sb.messages("general") if m["content"].startswith("🙌")]
    assert len(posts) == 1  # the answer is the post: the outbox does not post it again
    assert await kudos_received(sb, "alice") == 1


async def test_thank_for_this_keeps_the_kudos_limits(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"kudos": {"peer_daily_limit": 1}}) as sb:
        await sb.add_member("alice")
        await sb.add_member("bob")
        first, second = await say(sb, "alice", "First tip"), await say(sb, "alice", "Second tip")
        await submit(sb, "bob", await menu(sb, "bob", "Thank for this", target_message=first))
        refused = only(await submit(sb, "bob", await menu(sb, "bob", "Thank for this", target_message=second)))
        assert refused["ephemeral"] is True and "the daily limit" in refused["content"]
        own = only(await menu(sb, "alice", "Thank for this", target_message=first))
        assert own["ephemeral"] is True and "can't give kudos to yourself" in own["content"]
        bot_post = next(m["id"] for m in await sb.messages("general") if m["content"].startswith("🙌"))
        to_bot = only(await menu(sb, "alice", "Thank for this", target_message=bot_post))
        assert to_bot["ephemeral"] is True and "Bots don't need kudos" in to_bot["content"]
        assert await kudos_received(sb, "alice") == 1


async def test_give_kudos_from_a_members_menu_opens_the_modal_and_records_kudos(sandbox: ControlClient) -> None:
    sb = sandbox
    alice, bob = await sb.add_member("alice"), await sb.add_member("bob")
    opened = await menu(sb, "bob", "Give kudos", target_member="alice")
    post = only(await submit(sb, "bob", opened))
    assert post["content"] == f"🙌 <@{alice}>, <@{bob}> says thank you!" and not post["embeds"][0].get("description")
    assert await kudos_received(sb, "alice") == 1


async def test_a_reaction_gives_kudos_once_quietly_and_withdrawing_it_in_time_takes_it_back(
    sandbox: ControlClient,
) -> None:
    sb = sandbox
    await sb.add_member("alice")
    await sb.add_member("bob")
    await sb.add_member("carol")
    message = await say(sb, "alice", "Here is how the release script works…")
    before = len(await sb.messages("general"))

    async def acknowledged() -> bool:
        return any(r["me"] for r in await sb.get("/discord/reactions", message=message))

    async def not_acknowledged() -> bool:
        return not await acknowledged()

    await sb.post("/discord/reactions", {"member": "alice", "message": message, "emoji": PRAY})  # her own message
    await sb.post("/discord/reactions", {"member": "bob", "message": message, "emoji": "👍"})  # not the kudos emoji
    await sb.post("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})
    await until(sb, acknowledged)
    assert await kudos_received(sb, "alice") == 1
    assert len(await sb.messages("general")) == before  # quiet: a reaction, no post

    await sb.post("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})  # no second reaction
    (pray,) = [r for r in await sb.get("/discord/reactions", message=message) if r["emoji"] == PRAY]
    assert pray["count"] == 3  # alice's, bob's and the bot's: Discord keeps one reaction per member and emoji
    await sb.delete("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})
    await until(sb, not_acknowledged)
    assert await kudos_received(sb, "alice") == 0

    await sb.post("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})
    await until(sb, acknowledged)
    await sb.clock(advance=11 * 60)  # past the 10-minute grace: taking the reaction back no longer withdraws
    await sb.delete("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})
    await sb.post("/discord/reactions", {"member": "carol", "message": message, "emoji": PRAY})
    await until(sb, lambda: _count_is(sb, "alice", 2))
    await sb.post("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})  # never doubled
    await sb.delete("/discord/reactions", {"member": "carol", "message": message, "emoji": PRAY})
    await until(sb, lambda: _count_is(sb, "alice", 1))
    assert await acknowledged()  # bob's kudos still stands, so the bot's acknowledgement stays
    reactions = {r["emoji"]: r for r in await sb.get("/discord/reactions", message=message)}
    assert sorted(reactions[PRAY]["users"]) == ["Vestry", "alice", "bob"]


async def _count_is(sb: ControlClient, member: str, count: int) -> bool:
    return await kudos_received(sb, member) == count


async def test_reactions_on_a_bots_post_give_nothing(sandbox: ControlClient) -> None:
    sb = sandbox
    await sb.add_member("alice")
    await sb.add_member("bob")
    post = only(await submit(sb, "bob", await menu(sb, "bob", "Give kudos", target_member="alice")))
    await sb.post("/discord/reactions", {"member": "alice", "message": post["id"], "emoji": PRAY})
    message = await say(sb, "alice", "A tip")
    await sb.post("/discord/reactions", {"member": "bob", "message": message, "emoji": PRAY})
    await until(sb, lambda: _count_is(sb, "alice", 2))
    assert await kudos_received(sb, "bob") == 0
    assert not any(r["me"] for r in await sb.get("/discord/reactions", message=post["id"]))
