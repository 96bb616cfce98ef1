"""The second round's Discord control routes, end to end against the running bot."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from bot.sandbox.client import ControlError


async def test_roles_and_channels_made_through_the_control_api_show_in_the_state(sandbox: Any) -> None:
    role = await sandbox.post("/discord/roles", {"name": "Sponsor", "managed": True, "mentionable": True})
    channel = await sandbox.post("/discord/channels", {"name": "staff", "private": True})
    state = await sandbox.state()
    assert {"id": role["id"], "name": "Sponsor", "position": 1} in state["roles"]
    assert {"id": channel["id"], "name": "staff"} in state["channels"]
    with pytest.raises(ControlError) as failed:
        await sandbox.post("/discord/channels", {"name": "staff"})
    assert failed.value.status == 400


async def test_a_member_message_reaches_the_channel_and_the_bot(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    posted = await sandbox.post("/discord/messages", {"channel": "general", "member": "alice", "content": "hello"})
    (message,) = await sandbox.messages("general")
    assert (message["id"], message["author"], message["content"]) == (posted["id"], "alice", "hello")


async def test_commands_carry_the_locale_and_guild_commands_are_not_offered_in_dms(sandbox: Any) -> None:
    result = await sandbox.post("/discord/commands", {"member": "owner", "command": "whois", "locale": "de"})
    assert result["responses"] and "ist nicht verknüpft" in result["responses"][0]["content"]  # the member's language
    with pytest.raises(ControlError) as failed:
        await sandbox.post("/discord/commands", {"member": "owner", "command": "whois", "dm": True})
    assert failed.value.status == 404


async def test_autocomplete_returns_the_bots_choices(sandbox: Any) -> None:
    body = {"member": "owner", "command": "reviews", "option": "repo", "value": "sandbox"}
    assert (await sandbox.post("/discord/autocomplete", body))["choices"] == [
        {"name": "sandbox/project", "value": "sandbox/project"}
    ]


async def test_a_transient_gateway_close_resumes_and_the_bot_keeps_answering(sandbox: Any) -> None:
    assert (await sandbox.post("/discord/gateway/close", {"code": 1001}))["closed"] == 1
    gateway = sandbox.sandbox.discord.gateway
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not any(s.connection is not None for s in gateway.sessions.values()):
        assert loop.time() < deadline, "the bot never resumed"
        await asyncio.sleep(0.1)
    assert (await sandbox.command("owner", "whois"))["responses"]


async def test_a_member_with_dms_closed_is_refused_with_50007(sandbox_factory: Any) -> None:
    async with sandbox_factory(expect_rejections=True) as sb:
        await sb.add_member("alice")
        await sb.post("/discord/members/alice/dms", {"open": False})
        user = await sb.sandbox.app.bot.fetch_user(sb.sandbox.discord.member_id("alice"))
        with pytest.raises(discord.Forbidden, match="50007"):
            await user.send("hi")
        (refused,) = await sb.get("/discord/rejections")
        assert (refused["status"], refused["code"]) == (403, 50007)


async def test_a_reaction_to_a_message_is_accepted_and_unknown_messages_are_404(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    posted = await sandbox.post("/discord/messages", {"channel": "general", "member": "alice", "content": "hello"})
    assert await sandbox.post("/discord/reactions", {"member": "owner", "message": posted["id"], "emoji": "🎉"}) == {}
    with pytest.raises(ControlError) as failed:
        await sandbox.post("/discord/reactions", {"member": "owner", "message": "1", "emoji": "🎉"})
    assert failed.value.status == 404
