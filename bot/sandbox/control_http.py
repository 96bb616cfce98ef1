"""The plumbing of the sandbox's control API: the running sandbox it drives, JSON in and out, refusals."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from bot.clock import ManualClock
    from bot.context import Services
    from bot.sandbox.discord_emulator import DiscordEmulator
    from bot.sandbox.github_emulator import GitHubEmulator


class Running(Protocol):
    """What the control API drives: a running sandbox (``bot.sandbox.runner.Sandbox``)."""

    clock: ManualClock
    discord: DiscordEmulator
    github: GitHubEmulator

    @property
    def services(self) -> Services:
        """The running bot's services."""

    async def settle(self, timeout: float = ...) -> dict[str, int]:
        """Wait until everything in flight is done; return what is left."""


class BadRequest(Exception):
    """The caller sent something the route cannot use."""


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, default=str), content_type="application/json")


async def read_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def need(body: dict[str, Any], *keys: str) -> list[Any]:
    missing = [key for key in keys if key not in body]
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}")
    return [body[key] for key in keys]
