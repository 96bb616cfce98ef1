"""The sandbox's GitHub emulator, split into small modules; :class:`GitHubEmulator` is the entry point."""

from bot.sandbox.github.emulator import GitHubEmulator

__all__ = ["GitHubEmulator"]
