"""The sandbox's GitHub emulator (implemented in :mod:`bot.sandbox.github`)."""

from bot.sandbox.github import GitHubEmulator

__all__ = ["GitHubEmulator"]
