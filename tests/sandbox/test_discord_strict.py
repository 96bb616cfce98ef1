"""The Discord emulator refuses what Discord refuses (notes/discord-limits.md), with Discord's status, code and body.

Each test names the rule it proves; docs/sandbox.md lists them in its table of Discord's rules.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from bot.sandbox.discord import validate
from bot.sandbox.discord.limits import DEFAULT_RULE
from bot.sandbox.discord_emulator import DiscordEmulator
from tests.sandbox.conftest import EmuTestBot

CONTENT = {"content": "hi"}


def freeze(emu: DiscordEmulator) -> None:
    """Stop the rate limiter's clock an hour ahead: earlier requests are out of every window, none passes again."""
    frozen = time.monotonic() + 3600
    emu.rest.limiter.now = lambda: frozen


def roomy(emu: DiscordEmulator) -> None:
    """Put every route in the roomy default bucket, so that a test sees the rule it is about."""
    emu.rest.limiter.rule = lambda route: DEFAULT_RULE  # type: ignore[method-assign]


async def call(emu: DiscordEmulator, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
    """Call the REST API as the bot; return (status, JSON body or text, headers)."""
    headers = {"Authorization": f"Bot {emu.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emu.api_base + path, headers=headers, json=body) as response,
    ):
        raw = await response.read()
        try:
            data: Any = await response.json(content_type=None) if raw else None
        except ValueError:
            data = raw.decode()
        return response.status, data, response.headers


def field_of(body: dict[str, Any]) -> str:
    """Return the dotted path of the field a 50035 form error names."""
    parts, node = [], body["errors"]
    while "_errors" not in node:
        key = next(iter(node))
        parts.append(key)
        node = node[key]
    return ".".join(parts)


def embed(**extra: Any) -> dict[str, Any]:
    return {"title": "t", **extra}


def row(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(items)}


def button(custom_id: str | None = "b", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": 2, "style": 1, "label": "Go", **extra}
    if custom_id is not None:
        data["custom_id"] = custom_id
    return data


BAD_BODIES = [
    ("content", {"content": "x" * 2001}),
    ("nonce", {"content": "x", "nonce": "n" * 26}),
    ("embeds", {"embeds": [embed()] * 11}),
    ("attachments", {"content": "x", "attachments": [{"id": i, "filename": f"{i}.txt"} for i in range(11)]}),
    ("embeds.0.title", {"embeds": [embed(title="t" * 257)]}),
    ("embeds.0.description", {"embeds": [embed(description="d" * 4097)]}),
    ("embeds.0.fields", {"embeds": [embed(fields=[{"name": "n", "value": "v"}] * 26)]}),
    ("embeds.0.fields.0.name", {"embeds": [embed(fields=[{"name": "n" * 257, "value": "v"}])]}),
    ("embeds.0.fields.0.value", {"embeds": [embed(fields=[{"name": "n", "value": "v" * 1025}])]}),
    ("embeds.0.fields.0.value", {"embeds": [embed(fields=[{"name": "n", "value": ""}])]}),
    ("embeds.0.footer.text", {"embeds": [embed(footer={"text": "f" * 2049})]}),
    ("embeds.0.author.name", {"embeds": [embed(author={"name": "a" * 257})]}),
    ("embeds", {"embeds": [embed(description="d" * 4000), embed(description="d" * 2001)]}),
    ("embeds.0.color", {"embeds": [embed(color=0x1000000)]}),
    ("embeds.0.color", {"embeds": [embed(color=-1)]}),
    ("embeds.0.url", {"embeds": [embed(url="not a url")]}),
    ("embeds.0.image.url", {"embeds": [embed(image={"url": "ftp://example.com/x.png"})]}),
    ("embeds.0.thumbnail.url", {"embeds": [embed(thumbnail={"url": "example.com/x.png"})]}),
    ("embeds.0.timestamp", {"embeds": [embed(timestamp="yesterday")]}),
    ("allowed_mentions.parse.0", {"content": "x", "allowed_mentions": {"parse": ["here"]}}),
    ("allowed_mentions", {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}}),
    ("allowed_mentions", {"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}}),
    ("allowed_mentions.users", {"content": "x", "allowed_mentions": {"users": [str(i) for i in range(101)]}}),
    ("components", {"content": "x", "components": [row(button(f"b{i}")) for i in range(6)]}),
    ("components.0.components", {"content": "x", "components": [row(*[button(f"b{i}") for i in range(6)])]}),
    ("components.0.components", {"content": "x", "components": [row()]}),
    ("components.0", {"content": "x", "components": [button()]}),
    ("components.0.components.0.custom_id", {"content": "x", "components": [row(button("c" * 101))]}),
    ("components.0.components.0.custom_id", {"content": "x", "components": [row(button(""))]}),
    ("components.0.components.1.custom_id", {"content": "x", "components": [row(button("a"), button("a"))]}),
    ("components.0.components.0.label", {"content": "x", "components": [row(button(label="l" * 81))]}),
    ("components.0.components.0", {"content": "x", "components": [row(button(style=5))]}),
    ("components.0.components.0", {"content": "x", "components": [row(button("a", style=5, url="https://x.org"))]}),
    ("components.0.components.0.url", {"content": "x", "components": [row(button(None, style=5, url="x" * 513))]}),
    ("components.0.components.0.url", {"content": "x", "components": [row(button("a", url="https://x.org"))]}),
]


@pytest.mark.parametrize(("field", "body"), BAD_BODIES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_BODIES)])
async def test_message_bodies_discord_refuses_are_form_errors_naming_the_field(
    discord_emu: DiscordEmulator, field: str, body: dict[str, Any]
) -> None:
    channel = discord_emu.channel_id("general")
    status, reply, _ = await call(discord_emu, "POST", f"/channels/{channel}/messages", body)
    assert (status, reply["code"], reply["message"]) == (400, 50035, "Invalid Form Body")
    assert field_of(reply) == field
    (refused,) = discord_emu.rejections()
    assert (refused["status"], refused["code"], refused["route"]) == (400, 50035, "/channels/{channel_id}/messages")
    assert discord_emu.messages("general") == []


async def test_well_formed_bodies_at_the_limits_are_accepted(discord_emu: DiscordEmulator) -> None:
    roomy(discord_emu)
    channel = discord_emu.channel_id("general")
    fields = [{"name": "n" * 256, "value": "v" * 1024}] * 4
    bodies = [
        {"content": "x" * 2000, "nonce": "n" * 25, "enforce_nonce": True},
        {
            "embeds": [
                embed(title="t" * 256, description="d" * 4096, fields=fields[:1], timestamp="2026-03-02T12:00:00Z")
            ]
        },
        {"embeds": [embed(color=0xFFFFFF, url="https://github.com/x", image={"url": "attachment://chart.png"})]},
        {"content": "x", "components": [row(*[button(f"{r}{i}") for i in range(5)]) for r in range(5)]},
        {
            "content": "x",
            "components": [row(button("c" * 100, label="l" * 80), button(None, style=5, url="https://x.org"))],
        },
        {"content": "<@1>", "allowed_mentions": {"parse": ["roles"], "users": ["1"]}},
    ]
    for body in bodies:
        status, reply, _ = await call(discord_emu, "POST", f"/channels/{channel}/messages", body)
        assert status == 200, reply
    assert discord_emu.rejections() == []


async def test_enforced_nonce_is_remembered_for_minutes_of_sandbox_time_then_posts_again(
    discord_emu: DiscordEmulator,
) -> None:
    channel = discord_emu.channel_id("general")
    body = {"content": "once", "nonce": "kudos:42", "enforce_nonce": True}
    first = (await call(discord_emu, "POST", f"/channels/{channel}/messages", body))[1]
    discord_emu.clock.advance(4 * 60)  # type: ignore[attr-defined]
    again = (await call(discord_emu, "POST", f"/channels/{channel}/messages", body))[1]
    assert again["id"] == first["id"] and len(discord_emu.messages("general")) == 1
    discord_emu.clock.advance(2 * 60)  # type: ignore[attr-defined]
    later = (await call(discord_emu, "POST", f"/channels/{channel}/messages", body))[1]
    assert later["id"] != first["id"] and len(discord_emu.messages("general")) == 2


async def test_a_bucket_reaching_zero_refuses_with_a_user_scoped_429_and_real_headers(
    discord_emu: DiscordEmulator,
) -> None:
    freeze(discord_emu)  # frozen: the window never passes on its own
    channel = discord_emu.channel_id("general")
    seen = []
    for _ in range(5):
        status, _, headers = await call(discord_emu, "POST", f"/channels/{channel}/messages", CONTENT)
        assert status == 200
        seen.append(headers["X-RateLimit-Remaining"])
        assert headers["X-RateLimit-Limit"] == "5" and float(headers["X-RateLimit-Reset-After"]) > 0
    assert seen == ["4", "3", "2", "1", "0"]
    status, body, headers = await call(discord_emu, "POST", f"/channels/{channel}/messages", CONTENT)
    assert status == 429 and body["global"] is False and isinstance(body["retry_after"], float)
    assert headers["X-RateLimit-Scope"] == "user" and headers["Via"] and headers["X-RateLimit-Remaining"] == "0"
    other = discord_emu.channel_id("kudos")  # another major parameter is another bucket
    assert (await call(discord_emu, "POST", f"/channels/{other}/messages", CONTENT))[0] == 200
    (refused,) = discord_emu.rejections()
    assert (refused["status"], refused["global"], refused["scope"]) == (429, False, "user")
    assert len(discord_emu.messages("general")) == 5


async def test_more_than_fifty_requests_a_second_hit_the_global_limit(discord_emu: DiscordEmulator) -> None:
    freeze(discord_emu)
    statuses = [
        (await call(discord_emu, "GET", f"/channels/{discord_emu.channel_id('general')}"))[0] for _ in range(50)
    ]
    assert set(statuses) == {200}
    status, body, headers = await call(discord_emu, "GET", "/users/@me")
    assert status == 429 and body["global"] is True
    assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
    assert [(r["global"], r["scope"]) for r in discord_emu.rejections()] == [(True, "global")]


async def test_many_edits_of_one_message_hit_a_shared_limit_that_does_not_count_as_invalid(
    discord_emu: DiscordEmulator,
) -> None:
    freeze(discord_emu)
    channel = discord_emu.channel_id("general")
    message = (await call(discord_emu, "POST", f"/channels/{channel}/messages", CONTENT))[1]
    path = f"/channels/{channel}/messages/{message['id']}"
    roomy(discord_emu)
    statuses = [(await call(discord_emu, "PATCH", path, {"content": f"v{i}"}))[0] for i in range(6)]
    assert statuses == [200] * 5 + [429]
    (refused,) = discord_emu.rejections()
    assert (refused["scope"], refused["global"]) == ("shared", False)
    assert discord_emu.rest.limiter.invalid_count() == 0


async def test_edits_of_hour_old_messages_are_capped_per_channel_with_30046(discord_emu: DiscordEmulator) -> None:
    roomy(discord_emu)
    channel = discord_emu.channel_id("general")
    ids = [(await call(discord_emu, "POST", f"/channels/{channel}/messages", CONTENT))[1]["id"] for _ in range(31)]
    discord_emu.clock.advance(3601)  # type: ignore[attr-defined]
    freeze(discord_emu)
    statuses = [
        (await call(discord_emu, "PATCH", f"/channels/{channel}/messages/{i}", {"content": "e"}))[0] for i in ids
    ]
    assert statuses == [200] * 30 + [429]
    (refused,) = discord_emu.rejections()
    assert (refused["status"], refused["code"]) == (429, 30046)


async def test_opening_many_dms_quickly_is_refused_with_40003(discord_emu: DiscordEmulator) -> None:
    freeze(discord_emu)
    roomy(discord_emu)
    for index in range(11):
        await discord_emu.add_member(f"m{index}")
    statuses = []
    for index in range(11):
        member = discord_emu.member_id(f"m{index}")
        statuses.append((await call(discord_emu, "POST", "/users/@me/channels", {"recipient_id": str(member)}))[:2])
    assert [s for s, _ in statuses] == [200] * 10 + [403]
    assert statuses[-1][1]["code"] == 40003


async def test_ten_thousand_invalid_requests_get_the_client_banned(discord_emu: DiscordEmulator) -> None:
    limiter = discord_emu.rest.limiter
    freeze(discord_emu)
    for _ in range(9_999):
        limiter.note_status(403, None)
    status, _body, _ = await call(discord_emu, "GET", "/users/0")  # the 10,000th: 404 is not invalid, so send a 401
    assert status == 404
    async with aiohttp.ClientSession() as session:
        async with session.get(discord_emu.api_base + "/users/@me", headers={"Authorization": "Bot x"}) as response:
            assert response.status == 401
        async with session.get(discord_emu.api_base + "/users/@me") as response:
            assert response.status == 429 and "Via" not in response.headers  # Cloudflare's ban, not Discord's JSON
            assert (await response.text()).startswith("error code")


async def test_managed_roles_and_everyone_can_never_be_granted(discord_emu: DiscordEmulator) -> None:
    booster = discord_emu.create_role("Server Booster", 2, managed=True)
    member = await discord_emu.add_member("dave")
    base = f"/guilds/{discord_emu.guild_id}/members/{member}/roles"
    for role in (booster, discord_emu.guild_id):
        status, body, _ = await call(discord_emu, "PUT", f"{base}/{role}")
        assert (status, body["code"]) == (403, 50013)
    assert discord_emu.member_roles("dave") == []
    with pytest.raises(ValueError, match="cannot be assigned"):
        await discord_emu.add_role("dave", "Server Booster")


async def test_a_private_channel_is_missing_access_for_the_bot(discord_emu: DiscordEmulator) -> None:
    secret = discord_emu.create_channel("secret-kudos", private=True)
    for method, path, body in (
        ("POST", f"/channels/{secret}/messages", CONTENT),
        ("GET", f"/channels/{secret}", None),
        ("GET", f"/channels/{secret}/messages", None),
    ):
        status, reply, _ = await call(discord_emu, method, path, body)
        assert (status, reply["code"], reply["message"]) == (403, 50001, "Missing Access")
    channels = (await call(discord_emu, "GET", f"/guilds/{discord_emu.guild_id}/channels"))[1]
    listed = next(c for c in channels if c["id"] == str(secret))
    assert listed["permission_overwrites"][0]["deny"] != "0"  # what discord.py computes visibility from


async def test_interaction_token_expires_after_fifteen_minutes_of_sandbox_time(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    result = await discord_emu.invoke_command("owner", "secret", {})
    record = discord_emu.interactions.records[int(result["interaction"])]
    path = f"/webhooks/{discord_emu.application_id}/{record.token}/messages/@original"
    assert (await call(discord_emu, "PATCH", path, {"content": "still mine"}))[0] == 200
    discord_emu.clock.advance(15 * 60 + 1)  # type: ignore[attr-defined]
    status, body, _ = await call(discord_emu, "PATCH", path, {"content": "too late"})
    assert (status, body["code"]) == (401, 50027)
    status, body, _ = await call(discord_emu, "POST", f"/webhooks/{discord_emu.application_id}/{record.token}", CONTENT)
    assert (status, body["code"]) == (401, 50027)
    discord_emu.clock.advance(3600)  # type: ignore[attr-defined]
    await discord_emu.invoke_command("owner", "secret", {})  # forgets old records; the token still answers 401
    assert (await call(discord_emu, "PATCH", path, {"content": "later"}))[1]["code"] == 50027


async def test_a_second_initial_response_is_40060(discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot) -> None:
    result = await discord_emu.invoke_command("owner", "secret", {})
    record = discord_emu.interactions.records[int(result["interaction"])]
    path = f"/interactions/{record.id}/{record.token}/callback"
    status, body, _ = await call(discord_emu, "POST", path, {"type": 4, "data": CONTENT})
    assert (status, body["code"]) == (400, 40060)


def _command(name: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "type": 1, **extra}


def _option(name: str = "o", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "type": 3, **extra}


BAD_COMMANDS = [
    ("0.name", [_command("Upper")]),
    ("0.name", [_command("has space")]),
    ("0.name", [_command("x" * 33)]),
    ("0.description", [_command(description="")]),
    ("0.description", [_command(description="d" * 101)]),
    ("0.options", [_command(options=[_option(f"o{i}") for i in range(26)])]),
    ("0.options.0.description", [_command(options=[_option(description="d" * 101)])]),
    ("0.options.1.name", [_command(options=[_option("a"), _option("a")])]),
    (
        "0.options.0.choices",
        [_command(options=[_option(choices=[{"name": str(i), "value": str(i)} for i in range(26)])])],
    ),
    ("0.options.0.choices.0.name", [_command(options=[_option(choices=[{"name": "n" * 101, "value": "v"}])])]),
    ("0.options.0.choices.0.value", [_command(options=[_option(choices=[{"name": "n", "value": "v" * 101}])])]),
    (
        "0",
        [
            _command(
                options=[
                    _option(
                        f"o{i}",
                        description="d" * 100,
                        choices=[{"name": "n" * 100, "value": f"{j}" * 100} for j in range(4)],
                    )
                    for i in range(10)
                ]
            )
        ],
    ),
    ("_root", [_command(f"c{i}") for i in range(101)]),
    ("_root", [{"name": f"Menu {i}", "type": 2} for i in range(6)]),
    ("_root", [{"name": f"Menu {i}", "type": 3} for i in range(6)]),
]


@pytest.mark.parametrize(("field", "commands"), BAD_COMMANDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_COMMANDS)])
async def test_command_syncs_discord_refuses_are_form_errors(
    discord_emu: DiscordEmulator, field: str, commands: list[dict[str, Any]]
) -> None:
    path = f"/applications/{discord_emu.application_id}/guilds/{discord_emu.guild_id}/commands"
    status, body, _ = await call(discord_emu, "PUT", path, commands)
    assert (status, body["code"]) == (400, 50035)
    assert field_of(body) == field


async def test_command_names_with_apostrophes_and_other_scripts_are_accepted(discord_emu: DiscordEmulator) -> None:
    path = f"/applications/{discord_emu.application_id}/guilds/{discord_emu.guild_id}/commands"
    names = ["don't", "ünïcode", "кудос", "नमस्ते", "สวัสดี", "日本語", "a-b_c"]
    status, body, _ = await call(
        discord_emu, "PUT", path, [_command(n) for n in names] + [{"name": "Thank for this", "type": 3}]
    )
    assert status == 200, body
    assert [c["name"] for c in body] == [*names, "Thank for this"]


async def test_autocomplete_answers_over_the_limits_are_refused(discord_emu: DiscordEmulator) -> None:
    from bot.sandbox.discord.answers import _checked_choices
    from bot.sandbox.discord.rest import ApiError

    assert _checked_choices([{"name": "n" * 100, "value": "v" * 100}] * 25)
    for bad in ([{"name": "n", "value": "v"}] * 26, [{"name": "n" * 101, "value": "v"}], [{"name": "", "value": "v"}]):
        with pytest.raises(ApiError) as refused:
            _checked_choices(bad)
        assert refused.value.code == 50035


async def _gateway_identify(emu: DiscordEmulator, intents: int) -> int | None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.gateway_url) as ws:
        await ws.receive_json(timeout=2)
        await ws.send_json({"op": 2, "d": {"token": emu.token, "intents": intents, "properties": {}}})
        message = await ws.receive(timeout=2)
        return message.data if message.type is aiohttp.WSMsgType.CLOSE else None


async def test_privileged_intents_not_enabled_close_with_4014_and_undefined_bits_with_4013(
    discord_emu: DiscordEmulator,
) -> None:
    assert await _gateway_identify(discord_emu, 1 << 22) == 4013
    discord_emu.world.privileged_intents = 0
    for privileged in (1 << 1, 1 << 8, 1 << 15):
        assert await _gateway_identify(discord_emu, 1 | privileged) == 4014
    assert await _gateway_identify(discord_emu, 1) is None  # READY comes instead


async def test_a_session_that_stops_heartbeating_is_closed(discord_emu: DiscordEmulator) -> None:
    discord_emu.gateway.heartbeat_interval_ms = 200
    async with aiohttp.ClientSession() as session, session.ws_connect(discord_emu.gateway_url) as ws:
        hello = await ws.receive_json(timeout=2)
        assert hello["d"]["heartbeat_interval"] == 200
        while (message := await ws.receive(timeout=5)).type is not aiohttp.WSMsgType.CLOSE:
            pass
        assert message.data == 4009
    assert discord_emu.gateway.closes == [4009]


async def test_heartbeat_ack_reads_as_a_real_latency_not_a_whole_interval(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    discord_emu.gateway.heartbeat_interval_ms = 300
    await discord_emu.disconnect()  # the next connection gets the short interval
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not (0 < discord_emu_bot.latency < 1):
        assert loop.time() < deadline, discord_emu_bot.latency
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # a few beats later the reading still is a round trip, not 300 ms
    assert discord_emu_bot.latency < 0.2


async def test_more_than_120_gateway_commands_a_minute_close_with_4008(discord_emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(discord_emu.gateway_url) as ws:
        await ws.receive_json(timeout=2)
        for _ in range(121):
            await ws.send_json({"op": 3, "d": {"status": "online", "since": None, "activities": [], "afk": False}})
        while (message := await ws.receive(timeout=2)).type is not aiohttp.WSMsgType.CLOSE:
            pass
        assert message.data == 4008


async def test_op_7_reconnect_resumes_and_op_9_starts_a_new_session(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    gateway = discord_emu.gateway
    (session,) = gateway.sessions
    gateway.send_op(7)
    await asyncio.wait_for(discord_emu_bot.resumed_event.wait(), 10)
    assert set(gateway.sessions) == {session}
    gateway.send_op(9, False)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while set(gateway.sessions) in ({session}, set()):
        assert loop.time() < deadline, "the bot never identified again"
        await asyncio.sleep(0.05)
    assert (await discord_emu.invoke_command("owner", "secret", {}))["responses"]


def test_the_emulators_limits_agree_with_discords_openapi_description(discord_emu_spec: Any) -> None:
    spec = discord_emu_spec
    body = spec._deref(spec.request_schema("/channels/{channel_id}/messages", "post"))["properties"]
    schemas = spec.spec["components"]["schemas"]
    embed, field = schemas["RichEmbed"]["properties"], schemas["RichEmbedField"]["properties"]
    button = schemas["ButtonComponentForMessageRequest"]["properties"]
    mentions = schemas["MessageAllowedMentionsRequest"]["properties"]
    nonce = next(b for b in body["nonce"]["oneOf"] if b.get("type") == "string")
    assert (nonce["maxLength"], body["embeds"]["maxItems"], body["attachments"]["maxItems"]) == (
        validate.MAX_NONCE,
        validate.MAX_EMBEDS,
        validate.MAX_FILES,
    )
    assert (embed["title"]["maxLength"], embed["description"]["maxLength"]) == (256, 4096)
    assert (field["name"]["maxLength"], field["value"]["maxLength"]) == (256, 1024)
    assert schemas["RichEmbedFooter"]["properties"]["text"]["maxLength"] == 2048
    assert schemas["RichEmbedAuthor"]["properties"]["name"]["maxLength"] == 256
    assert embed["color"]["maximum"] == 0xFFFFFF
    assert (button["custom_id"]["minLength"], button["custom_id"]["maxLength"]) == (1, validate.MAX_CUSTOM_ID)
    assert (button["label"]["maxLength"], button["url"]["maxLength"]) == (validate.MAX_LABEL, validate.MAX_URL)
    assert mentions["users"]["maxItems"] == mentions["roles"]["maxItems"] == validate.MAX_MENTION_IDS
    # The description allows 4000 characters of content (for Nitro users); a bot's messages stop at 2000.
    assert body["content"]["maxLength"] >= validate.MAX_CONTENT == 2000


async def test_a_modal_answer_can_be_submitted_with_its_fields(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    opened = await discord_emu.invoke_command("owner", "feedback", {})
    (response,) = opened["responses"]
    assert response["modal"]["fields"] == [
        {"custom_id": "feedback-text", "label": "What do you think?", "required": True}
    ]
    with pytest.raises(ValueError, match="needs the field"):
        await discord_emu.submit_modal("owner", opened["interaction"], response["modal"]["custom_id"], {})
    submitted = await discord_emu.submit_modal(
        "owner", opened["interaction"], response["modal"]["custom_id"], {"feedback-text": "lovely"}
    )
    assert submitted["responses"][0]["content"] == "thanks: lovely"


async def test_a_message_context_menu_runs_on_its_target(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    posted = await discord_emu.member_message("general", "owner", "a helpful answer")
    result = await discord_emu.invoke_menu("owner", "Thank for this", message=posted)
    assert result["responses"][0]["content"] == f"thanked {posted}"
    with pytest.raises(LookupError):
        await discord_emu.invoke_menu("owner", "No such menu", message=posted)


async def test_requesting_more_than_100_members_by_id_closes_with_4002(discord_emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(discord_emu.gateway_url) as ws:
        await ws.receive_json(timeout=2)
        await ws.send_json({"op": 2, "d": {"token": discord_emu.token, "intents": 1, "properties": {}}})
        await ws.receive_json(timeout=2), await ws.receive_json(timeout=2)
        ids = [str(i) for i in range(101)]
        await ws.send_json({"op": 8, "d": {"guild_id": str(discord_emu.guild_id), "user_ids": ids, "limit": 0}})
        while (message := await ws.receive(timeout=2)).type is not aiohttp.WSMsgType.CLOSE:
            pass
        assert message.data == 4002


def test_the_emulators_command_limits_agree_with_discords_openapi_description(discord_emu_spec: Any) -> None:
    from bot.sandbox.discord import commands

    schemas = discord_emu_spec.spec["components"]["schemas"]
    command = schemas["ApplicationCommandCreateRequest"]["properties"]
    option = schemas["ApplicationCommandStringOption"]["properties"]
    choice = schemas["ApplicationCommandOptionStringChoice"]["properties"]
    assert command["name"]["maxLength"] == option["name"]["maxLength"] == commands._MAX_NAME
    assert command["description"]["maxLength"] == option["description"]["maxLength"] == commands._MAX_DESCRIPTION
    assert command["options"]["maxItems"] == commands._MAX_OPTIONS
    assert option["choices"]["maxItems"] == commands._MAX_CHOICES
    assert choice["name"]["maxLength"] == commands._MAX_CHOICE
    # The description lets a string choice's value run to 6000 characters; Discord's documentation (and the notes
    # this emulator follows) says 100, so the emulator keeps to the stricter rule.
    assert choice["value"]["maxLength"] >= commands._MAX_CHOICE
