"""Every slash command, with hostile options, from members who should and should not be able to use it.

The commands are enumerated from what the bot synced to the Discord emulator, and who may use each is read from
the checks on the bot's own command tree — so a new command is covered the day it is added.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from bot.sandbox.discord.commands import BOOLEAN, INTEGER, NUMBER, ROLE, STRING, SUB_COMMAND, SUB_COMMAND_GROUP, USER
from tests.reliability import checks

OTHER_GUILD_ID = 222222222222222222
BUG = "Something went wrong on our side"
REFUSED = {"maintainers": "Only maintainers", "bot owner": "Only the bot's owner"}


def hostile_strings(owner_id: int, role_id: int) -> list[str]:
    """Values a member could type into any text option."""
    return [
        "x" * 6000,
        "@everyone @here",
        f"<@&{role_id}> <@{owner_id}> <@!{owner_id}>",
        "**bold** __u__ ~~s~~ `c` ||spoiler|| [click](https://evil.example) > quote\n# heading",
        "ℌ𝔢𝔩𝔩𝔬 🎉 שלום \u202eesrever\u202c \u0000",
        "dev\u200b42\u200d\ufeff",
        "\u200b",
        "   ",
        f"{OTHER_GUILD_ID} <#{OTHER_GUILD_ID}> https://discord.com/channels/{OTHER_GUILD_ID}/1/2",
        "'; DROP TABLE links; --",
        "../../etc/passwd",
        "{author.__class__.__mro__}",
    ]


def leaf_commands(synced: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every invocable command path with its options."""

    def walk(options: list[dict[str, Any]], path: list[str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        nested = [o for o in options if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if not nested:
            yield " ".join(path), options
        for option in nested:
            yield from walk(option.get("options") or [], [*path, option["name"]])

    for command in synced:
        if command.get("type", 1) == 1:
            yield from walk(command.get("options") or [], [command["name"]])


def audiences(bot: Any) -> dict[str, str]:
    """Who may use each command, from the checks (maintainer_only / owner_only) on it and its parents."""
    found = {}
    for command in bot.tree.walk_commands(guild=bot.guild_object):
        checks_ = list(getattr(command, "checks", []))
        parent = command.parent
        while parent is not None:
            checks_ += list(getattr(parent, "checks", []))
            parent = parent.parent
        marks = [getattr(check, "vestry_audience", None) for check in checks_]
        found[command.qualified_name] = next((m for m in marks if m), "everyone")
    return found


# Valid values for text options whose meaning the command checks, so a hostile value in another option gets
# past them; any other text option gets "x".
PLAIN = {"kind": "code", "github": "mallory", "repo": "sandbox/project", "until": "3d", "period": "this"}


def plain_value(option: dict[str, Any], member: str) -> Any:
    """A harmless valid value for an option."""
    if option.get("choices"):
        return option["choices"][0]["value"]
    if option["type"] == STRING:
        return PLAIN.get(option["name"], "x")
    return {INTEGER: 1, NUMBER: 1.0, BOOLEAN: True, USER: member, ROLE: "Follower"}.get(option["type"])


def options_for(options: list[dict[str, Any]], member: str, hostile: tuple[str, str] | None = None) -> dict[str, Any]:
    """Required options filled plainly; the hostile one (name, value) replacing its plain value."""
    chosen = {o["name"]: plain_value(o, member) for o in options if o.get("required")}
    if hostile is not None:
        chosen[hostile[0]] = hostile[1]
    return {k: v for k, v in chosen.items() if v is not None}


async def invoke(discord: Any, member: str, path: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    result = await discord.invoke_command(member, path, options, timeout=10)
    return list(result["responses"])


async def test_maintainer_and_owner_commands_refuse_plain_members_in_code(sandbox: Any) -> None:
    discord, bot = sandbox.sandbox.discord, sandbox.sandbox.app.bot
    discord.interactions.quiet_period = 0.05
    await sandbox.add_member("visitor")
    await sandbox.add_member("helper")
    await discord.add_role("helper", "Maintainers")
    who = audiences(bot)
    restricted = {path: who[path] for path, _ in leaf_commands(discord.synced_commands) if who[path] != "everyone"}
    assert len(restricted) >= 8, restricted
    assert all(c.get("default_member_permissions") is None for c in discord.synced_commands), (
        "the test relies on the bot's own checks, not on Discord hiding commands"
    )
    tried = 0
    for path, options in leaf_commands(discord.synced_commands):
        audience = who[path]
        if audience == "everyone":
            continue
        callers = ["visitor"] + (["helper"] if audience == "bot owner" else [])
        for caller in callers:
            responses = await invoke(discord, caller, path, options_for(options, "visitor"))
            tried += 1
            assert len(responses) == 1 and responses[0]["ephemeral"], (path, caller, responses)
            assert REFUSED[audience] in responses[0]["content"], (path, caller, responses)
    assert await sandbox.sandbox.services.db.fetchval("SELECT COUNT(*) FROM links") == 0
    checks.record(
        "maintainer/owner commands as a plain member (enumerated from the command tree)",
        tried,
        f"all {len(restricted)} restricted commands refused in code with a clear ephemeral message; no side effect",
    )


async def test_every_command_refuses_an_interaction_from_another_server(sandbox: Any) -> None:
    discord = sandbox.sandbox.discord
    discord.interactions.quiet_period = 0.05
    await sandbox.add_member("visitor")
    tried = 0
    for path, options in leaf_commands(discord.synced_commands):
        for command_guild, expected in (
            (discord.guild_id, "only answers in the server it is set up for"),
            (OTHER_GUILD_ID, "isn't available here"),
        ):
            responses = await foreign_invoke(discord, "visitor", path, options_for(options, "visitor"), command_guild)
            tried += 1
            assert len(responses) == 1 and responses[0]["ephemeral"], (path, responses)
            content = responses[0]["content"]
            assert expected in content or REFUSED["bot owner"] in content, (path, responses)
    checks.record(
        "every command from another server's interaction", tried, "all refused with a clear message, no bug logged"
    )


async def foreign_invoke(
    discord: Any, member: str, path: str, options: dict[str, Any], command_guild: int
) -> list[dict[str, Any]]:
    """Send an INTERACTION_CREATE from a server Vestry does not serve, for a command of ``command_guild``."""
    from bot.sandbox.discord.commands import build_options

    interactions = discord.interactions
    resolved = interactions.registry.find(path)
    world_member = discord.world.member(member)
    channel = discord.world.channel("general")
    data_options, found = build_options(discord.world, resolved, options)
    record = interactions._new(2, world_member, channel, " ".join(resolved.path))
    payload = interactions._payload(record, world_member, channel)
    payload["guild_id"] = str(OTHER_GUILD_ID)
    payload["guild"] = {"id": str(OTHER_GUILD_ID), "locale": "en-US", "features": []}
    payload["data"] = {"id": resolved.command["id"], "name": resolved.command["name"], "type": 1}
    payload["data"].update(options=data_options, guild_id=str(command_guild))
    if found:
        payload["data"]["resolved"] = found
    discord.gateway.dispatch("INTERACTION_CREATE", payload)
    result = await interactions._collect(record, 10)
    return list(result["responses"])


async def test_hostile_options_get_clear_answers_and_no_post_pings_anyone(sandbox: Any) -> None:
    discord, bot = sandbox.sandbox.discord, sandbox.sandbox.app.bot
    discord.interactions.quiet_period = 0.05
    for name in ("mallory", "target"):
        await sandbox.add_member(name)
        await sandbox.user(name)
        await sandbox.command("owner", "vestry link", member=name, github=name)
    values = hostile_strings(discord.owner_id, discord.role_id("Maintainers"))
    who = audiences(bot)
    jobs = []
    for path, options in leaf_commands(discord.synced_commands):
        caller = "owner" if who[path] != "everyone" else "mallory"
        texts = [o for o in options if o["type"] == STRING]
        if not texts:
            jobs.append((caller, path, options_for(options, "target")))
        for option in texts:
            jobs += [(caller, path, options_for(options, "target", (option["name"], v))) for v in values]
    gate = asyncio.Semaphore(6)
    failures: list[str] = []

    async def one(caller: str, path: str, chosen: dict[str, Any]) -> None:
        async with gate:
            try:
                responses = await invoke(discord, caller, path, chosen)
            except TimeoutError as exc:
                failures.append(f"/{path} {short(chosen)}: no answer ({exc})")
                return
        if not responses:
            failures.append(f"/{path} {short(chosen)}: no visible answer")
        for response in responses:
            text = (response["content"] or "") + str(response["embeds"])
            if BUG in text:
                failures.append(f"/{path} {short(chosen)}: a bug, not a clear message: {response['content']}")

    await asyncio.gather(*(one(*job) for job in jobs))
    await sandbox.settle()
    unsafe = unsafe_mentions(discord)
    assert not failures, "\n".join(failures)
    assert not unsafe, "\n".join(unsafe)
    checks.record(
        "hostile slash-command options (long, markdown, mentions, unicode, zero-width, other-server ids)",
        len(jobs),
        "every answer clear (no bug id, none missing); no stored message can ping @everyone/@here or a role "
        f"({len(bot_messages(discord))} bot messages checked for allowed_mentions)",
    )


def short(options: dict[str, Any]) -> str:
    return str({k: (v[:40] + "…" if isinstance(v, str) and len(v) > 40 else v) for k, v in options.items()})


def bot_messages(discord: Any) -> list[Any]:
    world = discord.world
    return [m for m in world.messages.values() if m.author_id == world.bot_user_id]


def unsafe_mentions(discord: Any) -> list[str]:
    """Bot messages whose allowed_mentions would let @everyone, @here or an unlisted role ping."""
    problems = []
    for message in bot_messages(discord):
        allowed = message.allowed_mentions
        label = f"message {message.id} {message.content[:60]!r}"
        if allowed is None:
            problems.append(f"{label}: no allowed_mentions (Discord would parse everything)")
            continue
        parse = set(allowed.get("parse") or [])
        if "everyone" in parse or "roles" in parse:
            problems.append(f"{label}: allowed_mentions parses {sorted(parse)}")
        if message.mention_everyone:
            problems.append(f"{label}: pings @everyone/@here")
        listed = {int(r) for r in allowed.get("roles") or []}
        if set(message.mention_roles) - listed:
            problems.append(f"{label}: pings unlisted roles {message.mention_roles}")
    return problems


async def test_the_mention_check_catches_a_message_without_allowed_mentions(sandbox: Any) -> None:
    discord = sandbox.sandbox.discord
    bot = sandbox.sandbox.app.bot
    channel = bot.get_partial_messageable(discord.channel_id("general"))
    await bot.http.send_message(channel.id, params=_raw_params("@everyone look"))
    assert any("no allowed_mentions" in p for p in unsafe_mentions(discord))


def _raw_params(content: str) -> Any:
    from discord.http import handle_message_parameters

    return handle_message_parameters(content=content)
