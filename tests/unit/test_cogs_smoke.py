"""Every cog loads into a real bot (without connecting) and registers its commands."""

from __future__ import annotations

from pathlib import Path

from bot.clock import ManualClock
from bot.config import load_secrets, parse_settings
from bot.context import RunOptions
from bot.db import Database
from bot.discord.client import VestryBot, discover_cogs
from bot.features import build_services

SETTINGS = {
    "discord": {"guild_id": 1094583495310856262, "channels": {"kudos": 1094583495310856263}},
    "github": {"repositories": ["acme/widget"]},
    "webhooks": {"enabled": False},
}


async def test_every_cog_loads_and_registers_commands(tmp_path: Path, clock: ManualClock) -> None:
    settings = parse_settings(SETTINGS | {"database": {"path": str(tmp_path / "v.sqlite3")}})
    db = Database(settings.database.path)
    await db.open()
    await db.migrate()
    services = build_services(settings, load_secrets({}), db, clock, RunOptions())
    bot = VestryBot(services)
    names = discover_cogs()
    assert "cogs.admin" in names and not any(name.split(".")[-1].startswith("_") for name in names)
    for name in names:
        await bot.load_extension(name)
    commands = {command.name for command in bot.tree.get_commands()}
    assert "vestry" in commands
    for command in bot.tree.walk_commands():
        assert command.description and command.description != "…", f"/{command.qualified_name} has no description"
    await bot.close()
    await db.close()


async def test_command_reference_is_current() -> None:
    from bot.discord.docs import render_commands

    current = (Path(__file__).resolve().parents[2] / "docs" / "commands.md").read_text(encoding="utf-8")
    assert current == await render_commands(), "run: vestry commands-docs --output docs/commands.md"
