"""The Discord emulator, driven by a real, unmodified discord.py bot over HTTP and websocket on loopback."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest

from bot.clock import ManualClock
from bot.sandbox.discord.routes import Routes
from bot.sandbox.discord_emulator import DiscordEmulator
from tests.sandbox.conftest import BotStarter, EmuTestBot, SpecChecker


async def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    """Poll until ``predicate()`` is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def rest(emu: DiscordEmulator, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Call the emulator's REST API as the bot would, returning (status, JSON or None)."""
    headers = {"Authorization": f"Bot {emu.token}", **kwargs.pop("headers", {})}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emu.api_base + path, headers=headers, **kwargs) as response,
    ):
        body = await response.read()
        assert response.headers.get("Content-Type") in (None, "application/json")
        return response.status, (await response.json() if body else None)


# -- login, gateway, sync --------------------------------------------------------------------------------


async def test_bot_logs_in_and_sees_the_default_guild(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    bot = discord_emu_bot
    assert bot.user is not None and bot.user.id == discord_emu.bot_user_id
    assert bot.application_id == discord_emu.application_id
    guild = bot.get_guild(discord_emu.guild_id)
    assert guild is not None and guild.name == "Vestry Sandbox"
    assert [c.name for c in guild.text_channels] == ["general", "kudos", "reviews", "digest", "maintainers"]
    assert [r.name for r in guild.roles] == [
        "@everyone",
        "Follower",
        "Priest in training",
        "Priest",
        "Maintainers",
        "Vestry",
    ]
    assert guild.default_role.id == guild.id
    assert guild.me.top_role.name == "Vestry" and guild.me.guild_permissions.manage_roles
    assert guild.owner_id == discord_emu.owner_id
    assert guild.member_count == 2  # the bot and the owner; without the members intent only the bot is cached
    assert [m.name for m in guild.members] == ["Vestry"]


async def test_wrong_token_fails_login(discord_emu_start_bot: BotStarter) -> None:
    with pytest.raises(discord.LoginFailure):
        await discord_emu_start_bot(token="not-the-token")


async def test_guild_sync_echoes_ids(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    synced = {c["name"]: c for c in discord_emu.synced_commands}
    assert {"ping", "secret", "slow", "post", "claimable", "vestry"} <= set(synced)
    assert all(c["id"].isdigit() and c["application_id"] == str(discord_emu.application_id) for c in synced.values())
    fetched = await discord_emu_bot.tree.fetch_commands(guild=discord_emu_bot.sandbox_guild)
    assert {c.name: str(c.id) for c in fetched} == {n: c["id"] for n, c in synced.items()}
    again = await discord_emu_bot.tree.sync(guild=discord_emu_bot.sandbox_guild)
    assert {c.name: str(c.id) for c in again} == {n: c["id"] for n, c in synced.items()}, "ids are stable"


# -- slash commands ---------------------------------------------------------------------------------------


async def test_command_with_a_member_option_gets_the_reply(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    alice = await discord_emu.add_member("alice")
    await discord_emu.add_role("alice", "Follower")
    result = await discord_emu.invoke_command("owner", "ping", {"user": alice, "note": "hello"})
    assert result["interaction"].isdigit()
    [reply] = result["responses"]
    assert reply["content"] == "pong alice [Follower] hello" and reply["ephemeral"] is False
    assert [m["content"] for m in discord_emu.messages("general")] == ["pong alice [Follower] hello"]


async def test_ephemeral_reply_is_flagged_and_not_in_the_channel(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    result = await discord_emu.invoke_command("owner", "secret", {}, channel="kudos")
    assert result["responses"] == [
        {
            "id": result["responses"][0]["id"],
            "content": "only you can see this",
            "embeds": [],
            "components": [],
            "ephemeral": True,
            "attachments": [],
        }
    ]
    assert discord_emu.messages("kudos") == []


async def test_deferred_command_collects_followups_and_edits(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    result = await discord_emu.invoke_command("owner", "slow", {})
    contents = [(r["content"], r["ephemeral"]) for r in result["responses"]]
    # The first followup after a defer fills the "thinking" placeholder; the edit of @original updates it.
    assert contents == [("done (edited)", False), ("and a second thing", True)]


async def test_subcommands_options_and_permissions(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    await discord_emu.add_member("bob")
    as_owner = await discord_emu.invoke_command(
        "owner", "vestry backfill", {"repo": "sandbox/project", "role": "Priest"}
    )
    assert as_owner["responses"][0]["content"] == "backfill sandbox/project Priest 7 manage=True"
    as_member = await discord_emu.invoke_command("bob", "vestry backfill", {"days": 30})
    assert as_member["responses"][0]["content"] == "backfill None None 30 manage=False"
    deep = await discord_emu.invoke_command("bob", "vestry admin reset", {})
    assert deep["responses"][0]["content"] == "reset!"


async def test_unknown_commands_and_options_are_refused(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    with pytest.raises(LookupError):
        await discord_emu.invoke_command("owner", "nope", {})
    with pytest.raises(LookupError):
        await discord_emu.invoke_command("owner", "vestry nope", {})
    with pytest.raises(ValueError, match="needs the option 'user'"):
        await discord_emu.invoke_command("owner", "ping", {})
    with pytest.raises(KeyError):
        await discord_emu.invoke_command("nobody", "secret", {})


async def test_an_answer_after_three_seconds_is_too_late(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    discord_emu.interactions.callback_deadline = 0.2  # Discord's 3 s, shortened to keep the test fast
    with pytest.raises(TimeoutError):
        await discord_emu.invoke_command("owner", "sleepy", {})
    await asyncio.sleep(0.3)
    assert any(e["route"].endswith("/callback") and e["status"] == 404 for e in discord_emu.request_log())


# -- messages, roles, rate limits -------------------------------------------------------------------------


async def test_channel_message_with_embed_and_file(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    result = await discord_emu.invoke_command("owner", "post", {"channel": "digest"})
    assert result["responses"][0]["ephemeral"] is True
    [message] = discord_emu.messages("digest")
    assert message["content"] == "digest" and message["author"] == "Vestry" and message["channel"] == "digest"
    [embed] = message["embeds"]
    assert embed["title"] == "Weekly digest" and embed["fields"][0]["value"] == "dev42"
    assert message["attachments"] == [
        {"id": message["attachments"][0]["id"], "filename": "chart.png", "content_type": "image/png", "size": 15}
    ]
    assert discord_emu.attachment_bytes(message["id"], "chart.png") == b"\x89PNG fake chart"
    channel = discord_emu_bot.get_channel(discord_emu.channel_id("digest"))
    assert isinstance(channel, discord.TextChannel)
    fetched = await channel.fetch_message(int(message["id"]))
    assert await fetched.attachments[0].read() == b"\x89PNG fake chart"


async def test_admin_role_change_reaches_the_bot_cache(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    guild = discord_emu_bot.get_guild(discord_emu.guild_id)
    assert guild is not None
    await discord_emu.add_role("Vestry", "Follower")  # updates about the bot itself need no privileged intent
    await wait_until(lambda: "Follower" in [r.name for r in guild.me.roles])
    await discord_emu.remove_role("Vestry", "Follower")
    await wait_until(lambda: "Follower" not in [r.name for r in guild.me.roles])
    assert discord_emu.member_roles("Vestry") == ["Vestry"]


async def test_members_intent_gets_member_events(
    discord_emu: DiscordEmulator, discord_emu_start_bot: BotStarter
) -> None:
    bot = await discord_emu_start_bot(members_intent=True)
    guild = bot.get_guild(discord_emu.guild_id)
    assert guild is not None and guild.chunked and guild.get_member(discord_emu.owner_id) is not None
    carol = await discord_emu.add_member("carol")
    await wait_until(lambda: guild.get_member(carol) is not None)
    await discord_emu.add_role("carol", "Priest")
    await wait_until(lambda: [r.name for r in guild.get_member(carol).roles] == ["@everyone", "Priest"])  # type: ignore[union-attr]
    await discord_emu.remove_member("carol")
    await wait_until(lambda: guild.get_member(carol) is None)
    assert ("join", carol) in bot.seen and ("update", carol) in bot.seen


async def test_bot_role_changes_respect_the_hierarchy(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    guild = discord_emu_bot.get_guild(discord_emu.guild_id)
    assert guild is not None
    member = await guild.fetch_member(discord_emu.member_id("owner"))
    await member.add_roles(discord.Object(discord_emu.role_id("Priest")), reason="promoted")
    assert discord_emu.member_roles("owner") == ["Maintainers", "Priest"]
    above = discord_emu.create_role("Admins", 6)
    await wait_until(lambda: guild.get_role(above) is not None)
    with pytest.raises(discord.Forbidden) as caught:
        await member.add_roles(discord.Object(above))
    assert caught.value.code == 50013
    with pytest.raises(discord.Forbidden):
        await member.add_roles(discord.Object(discord_emu.role_id("Vestry")))
    with pytest.raises(discord.NotFound):
        await guild.fetch_member(12345)


async def test_member_edit_history_edit_and_delete(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    guild = discord_emu_bot.get_guild(discord_emu.guild_id)
    assert guild is not None
    owner = await guild.fetch_member(discord_emu.owner_id)
    follower, maintainers = discord_emu.role_id("Follower"), discord_emu.role_id("Maintainers")
    await owner.edit(roles=[discord.Object(follower), discord.Object(maintainers)])
    await owner.remove_roles(discord.Object(follower))
    await owner.add_roles(discord.Object(discord_emu.role_id("Priest")), atomic=False)
    assert discord_emu.member_roles("owner") == ["Maintainers", "Priest"]
    channel = guild.get_channel(discord_emu.channel_id("general"))
    assert isinstance(channel, discord.TextChannel)
    sent = [await channel.send(f"m{i}") for i in range(4)]
    await sent[1].edit(content="edited")
    await sent[2].delete()
    assert [m.content async for m in channel.history(limit=10)] == ["m3", "edited", "m0"]
    assert [m.content async for m in channel.history(limit=1, after=sent[0])] == ["edited"]
    assert [m["content"] for m in discord_emu.messages("general")] == ["m0", "edited", "m3"]


async def test_injected_429_is_retried_and_the_message_stored_once(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    discord_emu.add_fault("POST", "/channels/{channel_id}/messages", 429, 1, retry_after=0.05)
    channel = discord_emu_bot.get_channel(discord_emu.channel_id("kudos"))
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(f"kudos to <@{discord_emu.owner_id}>")
    assert [m["id"] for m in discord_emu.messages("kudos")] == [str(sent.id)]
    assert discord_emu.messages("kudos")[0]["mentions"] == ["owner"]
    assert discord_emu.request_counts()["POST /channels/{channel_id}/messages"] == {"requests": 2, "not_modified": 0}


async def test_server_error_surfaces_after_the_faults_run_out(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    discord_emu.add_fault("GET", "/channels/{channel_id}", 403, 1)
    with pytest.raises(discord.Forbidden):
        await discord_emu_bot.fetch_channel(discord_emu.channel_id("general"))
    channel = await discord_emu_bot.fetch_channel(discord_emu.channel_id("general"))
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"


async def test_dms_open_a_channel_and_can_be_refused(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    dave = await discord_emu.add_member("dave")
    user = await discord_emu_bot.fetch_user(dave)
    await user.send("welcome!")
    assert [m["content"] for m in discord_emu.messages("dm:dave")] == ["welcome!"]
    assert discord_emu.messages("dm:owner") == []
    discord_emu.block_dms("dave")
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("again")
    assert caught.value.code == 50007


# -- resume, members, components --------------------------------------------------------------------------


async def test_disconnect_resumes_and_replays_missed_events(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    guild = discord_emu_bot.get_guild(discord_emu.guild_id)
    assert guild is not None
    await discord_emu.disconnect()
    await discord_emu.add_role("Vestry", "Priest")  # dispatched while the bot is away
    await asyncio.wait_for(discord_emu_bot.resumed_event.wait(), 5)
    await wait_until(lambda: "Priest" in [r.name for r in guild.me.roles])
    result = await discord_emu.invoke_command("owner", "secret", {})
    assert result["responses"][0]["content"] == "only you can see this"


async def test_added_member_shows_in_state(discord_emu: DiscordEmulator) -> None:
    member_id = await discord_emu.add_member("erin")
    await discord_emu.add_role(member_id, "Follower")
    state = discord_emu.state()
    assert state["guild"] == {"id": str(discord_emu.guild_id), "name": "Vestry Sandbox"}
    assert {"id": str(member_id), "name": "erin", "roles": ["Follower"]} in state["members"]
    assert {"id": str(discord_emu.owner_id), "name": "owner", "roles": ["Maintainers"]} in state["members"]
    assert [r["name"] for r in state["roles"]][-1] == "Vestry"
    assert discord_emu.member_id("erin") == member_id == discord_emu.member_id(str(member_id))
    with pytest.raises(ValueError):
        await discord_emu.add_member("erin")


async def test_click_component_updates_the_message(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    await discord_emu.add_member("frank")
    posted = await discord_emu.invoke_command("owner", "claimable", {}, channel="kudos")
    [message] = posted["responses"]
    assert message["components"][0]["components"][0]["custom_id"] == "claim"
    clicked = await discord_emu.click_component("frank", message["id"], "claim")
    assert clicked["responses"][0]["content"] == "claimed by frank"
    [stored] = discord_emu.messages("kudos")
    assert stored["content"] == "claimed by frank" and stored["components"] == [] and stored["edited_at"]
    with pytest.raises(LookupError):
        await discord_emu.click_component("frank", message["id"], "claim")


async def test_deferred_button_edits_the_message_later(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    posted = await discord_emu.invoke_command("owner", "claimable", {})
    clicked = await discord_emu.click_component("owner", posted["responses"][0]["id"], "later")
    assert [r["content"] for r in clicked["responses"]] == ["will look later"]
    assert discord_emu.messages("general")[0]["content"] == "will look later"


async def test_modal_is_reported_as_a_response(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    result = await discord_emu.invoke_command("owner", "feedback", {})
    [response] = result["responses"]
    assert response["modal"]["title"] == "Feedback" and response["modal"]["custom_id"]


async def test_large_guild_is_chunked_on_request(
    discord_emu: DiscordEmulator, discord_emu_start_bot: BotStarter
) -> None:
    await discord_emu.add_members_bulk([f"user{i}" for i in range(1500)])
    bot = await discord_emu_start_bot(members_intent=True, chunk=True)
    guild = bot.get_guild(discord_emu.guild_id)
    assert guild is not None and guild.large and guild.member_count == 1502
    await wait_until(lambda: guild.chunked, timeout=5)
    assert len(guild.members) == 1502
    found = await guild.query_members("user14", limit=5)
    assert [m.name for m in found][:1] == ["user14"]


async def test_bulk_members_stay_cheap(discord_emu: DiscordEmulator) -> None:
    names = [f"member{i:05d}" for i in range(50_000)]
    tracemalloc.start()
    await discord_emu.add_members_bulk(names)  # its speed is measured by benchmarks/memory.py, not asserted here
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"{peak / 1e6:.1f} MB for 50k members"
    assert discord_emu.member_id("member49999") > discord_emu.member_id("member00000")
    status, page = await rest(discord_emu, "GET", f"/guilds/{discord_emu.guild_id}/members?limit=1000&after=0")
    assert status == 200 and len(page) == 1000


async def test_rest_errors_have_discords_shape(discord_emu: DiscordEmulator) -> None:
    assert await rest(discord_emu, "GET", "/nope/nothing") == (404, {"message": "404: Not Found", "code": 0})
    status, body = await rest(discord_emu, "GET", "/users/@me", headers={"Authorization": "Bot wrong"})
    assert (status, body["code"]) == (401, 0)
    status, body = await rest(discord_emu, "POST", f"/channels/{discord_emu.channel_id('general')}/messages", json={})
    assert (status, body["code"]) == (400, 50006)
    status, body = await rest(
        discord_emu, "POST", f"/channels/{discord_emu.channel_id('general')}/messages", json={"content": "x" * 2001}
    )
    assert (status, body["code"], list(body["errors"])) == (400, 50035, ["content"])
    async with aiohttp.ClientSession() as session, session.get(discord_emu.api_base + "/users/@me") as response:
        assert response.headers["X-RateLimit-Limit"] and response.headers["X-RateLimit-Bucket"]
        assert float(response.headers["X-RateLimit-Reset-After"]) > 0


# -- conformance with Discord's OpenAPI description -------------------------------------------------------


async def test_emulator_replies_match_the_spec(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot, discord_emu_spec: SpecChecker
) -> None:
    spec = discord_emu_spec
    await discord_emu.invoke_command("owner", "post", {"channel": "digest"})
    channel_id = discord_emu.channel_id("digest")
    status, listed = await rest(discord_emu, "GET", f"/channels/{channel_id}/messages")
    assert status == 200
    spec.assert_conforms(listed, spec.response_schema("/channels/{channel_id}/messages", "get"))
    guild = discord_emu.guild_id
    status, roles = await rest(discord_emu, "GET", f"/guilds/{guild}/roles")
    spec.assert_conforms(roles, spec.response_schema("/guilds/{guild_id}/roles", "get"))
    status, member = await rest(discord_emu, "GET", f"/guilds/{guild}/members/{discord_emu.owner_id}")
    spec.assert_conforms(member, spec.response_schema("/guilds/{guild_id}/members/{user_id}", "get"))
    status, me = await rest(discord_emu, "GET", "/users/@me")
    spec.assert_conforms(me, spec.response_schema("/users/@me", "get"))
    status, dm = await rest(
        discord_emu, "POST", "/users/@me/channels", json={"recipient_id": str(discord_emu.owner_id)}
    )
    spec.assert_conforms(dm, spec.schema("PrivateChannelResponse"))
    status, channels = await rest(discord_emu, "GET", f"/guilds/{guild}/channels")
    spec.assert_conforms(channels[0], spec.schema("GuildChannelResponse"))
    sync = next(e for e in discord_emu.request_log() if e["method"] == "PUT" and e["route"].endswith("/commands"))
    assert sync["status"] == 200
    callback = next(e for e in discord_emu.request_log() if e["route"].endswith("/callback"))
    reply = json.loads(callback["reply_body"])
    spec.assert_conforms(
        reply, spec.response_schema("/interactions/{interaction_id}/{interaction_token}/callback", "post")
    )
    discord_emu.add_fault("GET", "/users/@me", 429, 1, retry_after=0.01)
    status, limited = await rest(discord_emu, "GET", "/users/@me")
    assert status == 429
    spec.assert_conforms(limited, spec.schema("RatelimitedResponse"))


async def test_bot_requests_match_the_spec(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot, discord_emu_spec: SpecChecker
) -> None:
    spec = discord_emu_spec
    await discord_emu.invoke_command("owner", "post", {"channel": "digest"})
    await discord_emu.invoke_command("owner", "slow", {})
    log = discord_emu.request_log()
    create = next(e for e in log if e["route"] == "/channels/{channel_id}/messages" and e["method"] == "POST")
    spec.assert_conforms(create["json"], spec.request_schema("/channels/{channel_id}/messages", "post"), request=True)
    callbacks = [e for e in log if e["route"].endswith("/callback")]
    schema = spec.request_schema("/interactions/{interaction_id}/{interaction_token}/callback", "post")
    assert {e["json"]["type"] for e in callbacks} >= {4, 5}
    for entry in callbacks:
        spec.assert_conforms(entry["json"], schema, request=True)
    followup = next(e for e in log if e["route"] == "/webhooks/{webhook_id}/{webhook_token}")
    spec.assert_conforms(
        followup["json"], spec.request_schema("/webhooks/{webhook_id}/{webhook_token}", "post"), request=True
    )
    sync = next(e for e in log if e["method"] == "PUT" and e["route"].endswith("/commands"))
    spec.assert_conforms(
        sync["json"], spec.request_schema("/applications/{application_id}/guilds/{guild_id}/commands", "put")
    )


def test_every_emulated_route_is_in_the_spec(discord_emu_clock: ManualClock, discord_emu_spec: SpecChecker) -> None:
    emu = DiscordEmulator(clock=discord_emu_clock)
    table = Routes(emu.world, emu.gateway, emu.registry, emu.interactions, emu.rest.limiter).table()
    paths = discord_emu_spec.spec["paths"]
    missing = [f"{m} {t}" for m, t, _, _ in table if t not in paths or m.lower() not in paths[t]]
    assert not missing, missing


async def test_raw_gateway_handshake_and_refusals(discord_emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(discord_emu.gateway_url + "?v=10&encoding=json&compress=zlib-stream") as ws:
            hello = await ws.receive_json(timeout=2)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json(timeout=2))["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 0, "properties": {}}})
            closing = await ws.receive(timeout=2)
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004
        async with session.ws_connect(discord_emu.gateway_url) as ws:
            await ws.receive_json(timeout=2)
            await ws.send_json({"op": 6, "d": {"token": discord_emu.token, "session_id": "gone", "seq": 3}})
            assert await ws.receive_json(timeout=2) == {"op": 9, "d": False, "s": None, "t": None}
        async with session.ws_connect(discord_emu.gateway_url) as ws:
            await ws.receive_json(timeout=2)
            await ws.send_json({"op": 2, "d": {"token": discord_emu.token, "intents": 1, "properties": {}}})
            ready, guild = await ws.receive_json(timeout=2), await ws.receive_json(timeout=2)
            assert (ready["t"], ready["s"], guild["t"], guild["s"]) == ("READY", 1, "GUILD_CREATE", 2)
            assert ready["d"]["resume_gateway_url"] == discord_emu.gateway_url
            assert guild["d"]["member_count"] == 2 and len(guild["d"]["members"]) == 1
            await discord_emu.wait_identified(1)
