"""Op 8 REQUEST_GUILD_MEMBERS and the 120-commands-a-minute gateway limit, as Discord has them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.sandbox.discord.gateway import GUILD_MEMBERS, GUILDS
from bot.sandbox.discord_emulator import DiscordEmulator
from tests.sandbox.conftest import BotStarter


@asynccontextmanager
async def identified(emu: DiscordEmulator, intents: int = GUILDS) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """Open a raw gateway connection, identify, and read READY and GUILD_CREATE."""
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.gateway_url) as ws:
        await ws.receive_json(timeout=2)
        await ws.send_json({"op": 2, "d": {"token": emu.token, "intents": intents, "properties": {}}})
        assert (await ws.receive_json(timeout=2))["t"] == "READY"
        assert (await ws.receive_json(timeout=5))["t"] == "GUILD_CREATE"
        yield ws


async def request(ws: aiohttp.ClientWebSocketResponse, **d: Any) -> None:
    """Send one op 8 for the sandbox guild."""
    await ws.send_json({"op": 8, "d": d})


async def next_dispatch(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """Read the next frame, which must be a dispatch."""
    frame = await ws.receive_json(timeout=5)
    assert frame["op"] == 0, frame
    return dict(frame)


async def test_members_by_id_need_no_intent_and_name_the_missing(discord_emu: DiscordEmulator) -> None:
    await discord_emu.add_member("alice")
    alice = discord_emu.member_id("alice")
    async with identified(discord_emu) as ws:
        await request(ws, guild_id=str(discord_emu.guild_id), user_ids=[str(alice), "42"], limit=0, nonce="n1")
        chunk = await next_dispatch(ws)
    assert chunk["t"] == "GUILD_MEMBERS_CHUNK"
    data = chunk["d"]
    assert (data["chunk_index"], data["chunk_count"], data["nonce"], data["not_found"]) == (0, 1, "n1", ["42"])
    assert [m["user"]["id"] for m in data["members"]] == [str(alice)]
    assert discord_emu.gateway.member_requests.user_ids_requested == 2


async def test_refused_member_requests_get_no_answer(discord_emu: DiscordEmulator) -> None:
    guild = str(discord_emu.guild_id)
    async with identified(discord_emu) as ws:
        await request(ws, guild_id=guild, query="", limit=0)  # the whole list, without the members intent
        await request(ws, guild_id=guild, user_ids=[str(discord_emu.bot_user_id)], limit=0, nonce="x" * 33)
        answer = await next_dispatch(ws)
    assert answer["t"] == "GUILD_MEMBERS_CHUNK" and "nonce" not in answer["d"]  # a nonce over 32 bytes is dropped
    messages = [r["message"] for r in discord_emu.gateway.member_requests.refusals]
    assert len(messages) == 1 and "GUILD_MEMBERS intent" in messages[0]  # over 100 ids closes with 4002 instead


async def test_whole_list_comes_in_chunks_once_per_30_seconds(discord_emu: DiscordEmulator) -> None:
    await discord_emu.add_members_bulk([f"user{i:04d}" for i in range(1500)])
    guild = str(discord_emu.guild_id)
    async with identified(discord_emu, GUILDS | GUILD_MEMBERS) as ws:
        await request(ws, guild_id=guild, query="", limit=0, nonce="all")
        chunks = [await next_dispatch(ws), await next_dispatch(ws)]
        await request(ws, guild_id=guild, query="", limit=0, nonce="again")
        limited = await next_dispatch(ws)
        await request(ws, guild_id=guild, query="user00", limit=3)
        some = await next_dispatch(ws)
    assert [(c["d"]["chunk_index"], c["d"]["chunk_count"], len(c["d"]["members"])) for c in chunks] == [
        (0, 2, 1000),
        (1, 2, 502),
    ]
    assert limited["t"] == "RATE_LIMITED"
    assert limited["d"]["opcode"] == 8 and 0 < limited["d"]["retry_after"] <= 30
    assert limited["d"]["meta"] == {"guild_id": guild, "nonce": "again"}
    assert [m["user"]["username"] for m in some["d"]["members"]] == ["user0000", "user0001", "user0002"]


async def test_more_than_120_commands_a_minute_close_the_connection_with_4008(discord_emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(discord_emu.gateway_url) as ws:
        await ws.receive_json(timeout=2)
        for _ in range(121):
            await ws.send_json({"op": 1, "d": None})
        acks = 0
        while (frame := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
            acks += 1
    assert acks <= 120 and frame.type is aiohttp.WSMsgType.CLOSE and frame.data == 4008
    assert discord_emu.gateway.commands.closed_for_rate == 1 and discord_emu.gateway.commands.counts[1] == 121


async def test_discord_py_queries_members_by_id_without_intent_or_cache(
    discord_emu: DiscordEmulator, discord_emu_start_bot: BotStarter
) -> None:
    await discord_emu.add_member("alice")
    await discord_emu.add_role("alice", "Follower")
    alice = discord_emu.member_id("alice")
    bot = await discord_emu_start_bot()
    guild = bot.get_guild(discord_emu.guild_id)
    assert guild is not None
    found = await guild.query_members(user_ids=[alice, 12345], limit=2, cache=False)
    assert [(m.id, sorted(r.name for r in m.roles)) for m in found] == [(alice, ["@everyone", "Follower"])]
    assert guild.get_member(alice) is None


async def test_refused_gateway_commands_are_listed_with_the_rest_refusals(discord_emu: DiscordEmulator) -> None:
    async with identified(discord_emu) as ws:
        await request(ws, guild_id=str(discord_emu.guild_id), query="", limit=0)
        await request(ws, guild_id=str(discord_emu.guild_id), user_ids=[str(discord_emu.bot_user_id)], limit=0)
        await next_dispatch(ws)
    (refusal,) = discord_emu.rest.rejections.list()
    assert (refusal["method"], refusal["route"], refusal["gateway"]) == ("GATEWAY", "op 8 REQUEST_GUILD_MEMBERS", True)
    assert "GUILD_MEMBERS intent" in refusal["message"]
