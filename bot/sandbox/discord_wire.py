"""Point discord.py at the Discord emulator: the ONE sanctioned change to library globals, for the sandbox only.

discord.py reads its REST base from ``discord.http.Route.BASE`` and its gateway from
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``; both are process-wide class attributes. The sandbox
(and tests) call :func:`point_discord_py_at` before starting a bot; production code never does. Call it again
after anything that runs ``discord.http._set_api_version()``, which resets ``Route.BASE``.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def point_discord_py_at(api_base: str, gateway_url: str) -> None:
    """Send all of discord.py's REST traffic to ``api_base`` and its gateway connections to ``gateway_url``.

    Sandbox only: this changes process-wide class attributes, so one emulator per process at a time.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def current_discord_py_endpoints() -> tuple[str, yarl.URL]:
    """Return the current ``(Route.BASE, DEFAULT_GATEWAY)``, so a caller can put them back afterwards."""
    return discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def restore_discord_py_endpoints(saved: tuple[str, yarl.URL]) -> None:
    """Put back endpoints saved with :func:`current_discord_py_endpoints`."""
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
