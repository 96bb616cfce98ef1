"""Fixtures for the Discord emulator tests: the emulator, a real discord.py bot on it, a spec checker."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.clock import ManualClock
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.discord_wire import (
    current_discord_py_endpoints,
    point_discord_py_at,
    restore_discord_py_endpoints,
)

OPENAPI = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "discord-openapi" / "openapi.json"


class EmuTestBot(commands.Bot):
    """A small bot with a few slash commands, synced to the sandbox guild in ``setup_hook``."""

    def __init__(self, guild_id: int, *, members_intent: bool = False, chunk: bool = False) -> None:
        intents = discord.Intents.default()
        intents.members = members_intent
        super().__init__(
            command_prefix="!",
            intents=intents,
            guild_ready_timeout=0.1,
            chunk_guilds_at_startup=chunk,
        )
        self.sandbox_guild = discord.Object(guild_id)
        self.seen: list[tuple[str, Any]] = []
        self.ready_event = asyncio.Event()
        self.resumed_event = asyncio.Event()

    async def setup_hook(self) -> None:
        """Register the test commands and sync them to the guild."""
        for command in _commands():
            self.tree.add_command(command, guild=self.sandbox_guild)
        await self.tree.sync(guild=self.sandbox_guild)

    async def on_ready(self) -> None:
        """Note readiness."""
        self.ready_event.set()

    async def on_resumed(self) -> None:
        """Note a RESUME."""
        self.resumed_event.set()

    async def on_member_join(self, member: discord.Member) -> None:
        """Note joins."""
        self.seen.append(("join", member.id))

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Note member updates."""
        self.seen.append(("update", after.id))


class ClaimView(discord.ui.View):
    """One button that edits its own message when clicked."""

    @discord.ui.button(label="Claim", custom_id="claim", style=discord.ButtonStyle.primary)
    async def claim(self, interaction: discord.Interaction, button: discord.ui.Button[ClaimView]) -> None:
        """Mark the message claimed."""
        await interaction.response.edit_message(content=f"claimed by {interaction.user.name}", view=None)

    @discord.ui.button(label="Later", custom_id="later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[ClaimView]) -> None:
        """Acknowledge first, edit the message afterwards."""
        await interaction.response.defer()
        await interaction.edit_original_response(content="will look later")


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A one-field modal."""

    text = discord.ui.TextInput(label="What do you think?", custom_id="feedback-text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Thank the member, quoting the answer."""
        await interaction.response.send_message(f"thanks: {self.text.value}")


def _commands() -> list[app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu]:
    @app_commands.command()
    @app_commands.describe(user="who to ping", note="optional note")
    async def ping(interaction: discord.Interaction, user: discord.Member, note: str | None = None) -> None:
        """Ping a member."""
        roles = ",".join(r.name for r in user.roles[1:])
        await interaction.response.send_message(f"pong {user.name} [{roles}] {note or ''}".strip())

    @app_commands.command()
    async def secret(interaction: discord.Interaction) -> None:
        """Answer privately."""
        await interaction.response.send_message("only you can see this", ephemeral=True)

    @app_commands.command()
    async def slow(interaction: discord.Interaction) -> None:
        """Defer, then answer with followups."""
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done")
        await interaction.followup.send("and a second thing", ephemeral=True)
        await interaction.edit_original_response(content="done (edited)")

    @app_commands.command()
    async def sleepy(interaction: discord.Interaction) -> None:
        """Answer too late without deferring."""
        await asyncio.sleep(0.4)
        await interaction.response.send_message("too late")

    @app_commands.command()
    @app_commands.describe(channel="where to post")
    async def post(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Post an embed with a file."""
        embed = discord.Embed(title="Weekly digest", description="3 merged PRs", colour=0x5865F2)
        embed.add_field(name="Top", value="dev42")
        target = interaction.client.get_channel(channel.id)
        assert isinstance(target, discord.TextChannel)
        file = discord.File(fp=io.BytesIO(b"\x89PNG fake chart"), filename="chart.png")
        message = await target.send("digest", embed=embed, file=file)
        await interaction.response.send_message(f"posted {message.id}", ephemeral=True)

    @app_commands.command()
    async def claimable(interaction: discord.Interaction) -> None:
        """Post a message with a button."""
        await interaction.response.send_message("first PR by dev42!", view=ClaimView(timeout=None))

    @app_commands.command()
    async def feedback(interaction: discord.Interaction) -> None:
        """Open a modal."""
        await interaction.response.send_modal(FeedbackModal())

    vestry = app_commands.Group(name="vestry", description="Maintainer tools")
    admin = app_commands.Group(name="admin", description="Deep tools", parent=vestry)

    @vestry.command(name="backfill")
    @app_commands.describe(repo="repository", role="a role", days="how far back")
    async def backfill(
        interaction: discord.Interaction, repo: str | None = None, role: discord.Role | None = None, days: int = 7
    ) -> None:
        """Backfill history."""
        perms = interaction.permissions.manage_guild
        await interaction.response.send_message(f"backfill {repo} {role and role.name} {days} manage={perms}")

    @admin.command(name="reset")
    async def reset(interaction: discord.Interaction) -> None:
        """A three-level command."""
        await interaction.response.send_message("reset!")

    @app_commands.context_menu(name="Thank for this")
    async def thank(interaction: discord.Interaction, message: discord.Message) -> None:
        """Thank a message's author."""
        await interaction.response.send_message(f"thanked {message.id}")

    return [ping, secret, slow, sleepy, post, claimable, feedback, vestry, thank]


@pytest.fixture
def discord_emu_clock() -> ManualClock:
    """A sandbox clock at a fixed date."""
    return ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
async def discord_emu(discord_emu_clock: ManualClock) -> AsyncIterator[DiscordEmulator]:
    """A running emulator with discord.py pointed at it (restored afterwards)."""
    emulator = DiscordEmulator(clock=discord_emu_clock, rate_limits="fast")
    await emulator.start()
    saved = current_discord_py_endpoints()
    point_discord_py_at(emulator.api_base, emulator.gateway_url)
    try:
        yield emulator
    finally:
        restore_discord_py_endpoints(saved)
        await emulator.stop()


BotStarter = Callable[..., Awaitable[EmuTestBot]]


@pytest.fixture
async def discord_emu_start_bot(discord_emu: DiscordEmulator) -> AsyncIterator[BotStarter]:
    """Start real discord.py bots on the emulator and wait for on_ready; close them afterwards."""
    running: list[tuple[EmuTestBot, asyncio.Task[None]]] = []

    async def start(token: str | None = None, **kwargs: Any) -> EmuTestBot:
        bot = EmuTestBot(discord_emu.guild_id, **kwargs)
        task = asyncio.create_task(bot.start(token or discord_emu.token))
        running.append((bot, task))
        ready = asyncio.create_task(bot.ready_event.wait())
        await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()
        assert bot.ready_event.is_set(), "the bot never became ready"
        return bot

    yield start
    for bot, task in running:
        await bot.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


@pytest.fixture
async def discord_emu_bot(discord_emu_start_bot: BotStarter) -> EmuTestBot:
    """A ready bot with default (non-privileged) intents."""
    return await discord_emu_start_bot()


class SpecChecker:
    """Check JSON against Discord's OpenAPI schemas: required properties and basic types, unions loosely."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def schema(self, name: str) -> dict[str, Any]:
        """Return a named schema from ``components.schemas``."""
        return self.spec["components"]["schemas"][name]

    def request_schema(self, path: str, method: str) -> dict[str, Any]:
        """Return the JSON request body schema of an operation."""
        return self.spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]

    def response_schema(self, path: str, method: str, status: str = "200") -> dict[str, Any]:
        """Return the JSON response schema of an operation."""
        response = self._deref(self.spec["paths"][path][method.lower()]["responses"][status])
        return response["content"]["application/json"]["schema"]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def errors(self, value: Any, schema: dict[str, Any], where: str = "$", *, request: bool = False) -> list[str]:
        """Return every mismatch between ``value`` and ``schema`` (empty when it conforms).

        With ``request``, an integer is accepted for a snowflake, as Discord does (discord.py sends
        attachment ids as 0, 1, ...); replies must always carry snowflakes as strings.
        """
        schema = self._deref(schema)
        if request and schema.get("format") == "snowflake" and isinstance(value, int) and not isinstance(value, bool):
            return []
        problems: list[str] = []
        for union in ("oneOf", "anyOf"):
            if union in schema:
                branches = [self.errors(value, s, where, request=request) for s in schema[union]]
                if all(branches):
                    best = min(branches, key=len)
                    problems.append(f"{where}: matches no {union} branch (closest: {best[:3]})")
        for part in schema.get("allOf", []):
            problems += self.errors(value, part, where, request=request)
        problems += self._check_type(value, schema, where)
        if "const" in schema and value != schema["const"]:
            problems.append(f"{where}: {value!r} is not {schema['const']!r}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, dict):
            for name in schema.get("required", []):
                if name not in value:
                    problems.append(f"{where}: missing required {name!r}")
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    problems += self.errors(value[name], sub, f"{where}.{name}", request=request)
        if isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                problems += self.errors(item, schema["items"], f"{where}[{index}]", request=request)
        return problems

    @staticmethod
    def _check_type(value: Any, schema: dict[str, Any], where: str) -> list[str]:
        wanted = schema.get("type")
        if wanted is None:
            return []
        kinds = wanted if isinstance(wanted, list) else [wanted]
        checks = {
            "null": value is None,
            "boolean": isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "array": isinstance(value, list),
            "object": isinstance(value, dict),
        }
        if any(checks.get(kind, True) for kind in kinds):
            return []
        return [f"{where}: {type(value).__name__} {value!r:.60} is not {wanted}"]

    def assert_conforms(self, value: Any, schema: dict[str, Any], *, request: bool = False) -> None:
        """Fail with the list of mismatches when ``value`` does not conform."""
        problems = self.errors(value, schema, request=request)
        assert not problems, "\n".join(problems[:20])


@pytest.fixture(scope="session")
def discord_emu_spec() -> SpecChecker:
    """Discord's OpenAPI description, or skip when the shared fixtures are not here."""
    if not OPENAPI.exists():
        pytest.skip(f"Discord's OpenAPI spec is not available at {OPENAPI} (the shared fixtures folder is absent)")
    return SpecChecker(json.loads(OPENAPI.read_text(encoding="utf-8")))
