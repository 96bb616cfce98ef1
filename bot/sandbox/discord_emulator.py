"""The Discord emulator's public entry point; the implementation lives in :mod:`bot.sandbox.discord`."""

from bot.sandbox.discord import DiscordEmulator

__all__ = ["DiscordEmulator"]
