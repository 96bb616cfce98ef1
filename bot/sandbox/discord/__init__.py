"""A faithful, small emulator of Discord's HTTP API and gateway for the sandbox (see DESIGN.md, "The sandbox")."""

from bot.sandbox.discord.emulator import DiscordEmulator

__all__ = ["DiscordEmulator"]
