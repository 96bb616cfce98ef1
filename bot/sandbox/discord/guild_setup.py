"""REST routes a set-up tool calls (``vestry init``): the bot's guilds, creating roles and channels.

They refuse what Discord refuses: creating a role needs Manage Roles and cannot grant permissions the bot
lacks; creating a channel needs Manage Channels; both answer 50013 Missing Permissions otherwise.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox.discord.payloads import channel_json, role_json
from bot.sandbox.discord.rest import ApiError, Handler, form_error, json_response, payload_of
from bot.sandbox.discord.world import ADMINISTRATOR, MANAGE_ROLES, World

MANAGE_CHANNELS = 1 << 4
_MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")


class GuildSetup:
    """Handlers for ``GET /users/@me/guilds``, ``POST /guilds/{id}/roles`` and ``POST /guilds/{id}/channels``."""

    def __init__(self, world: World) -> None:
        self.world = world

    def table(self) -> list[tuple[str, str, Handler, bool]]:
        """Return the routes as ``(method, template, handler, needs_bot_auth)``."""
        return [
            ("GET", "/users/@me/guilds", self.my_guilds, True),
            ("POST", "/guilds/{guild_id}/roles", self.create_role, True),
            ("POST", "/guilds/{guild_id}/channels", self.create_channel, True),
        ]

    def _guild(self, request: web.Request) -> None:
        if request.match_info["guild_id"] != str(self.world.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")

    def _bot_permissions(self) -> int:
        return self.world.permissions(self.world.bot_member)

    async def my_guilds(self, request: web.Request) -> web.Response:
        """List the guilds the bot is in, with its permissions there."""
        world = self.world
        guild = {
            "id": str(world.guild_id),
            "name": world.guild_name,
            "icon": None,
            "banner": None,
            "owner": False,
            "permissions": str(self._bot_permissions()),
            "features": [],
        }
        return json_response([guild])

    async def create_role(self, request: web.Request) -> web.Response:
        """Create a role at the bottom of the list (position 1), as Discord does."""
        self._guild(request)
        allowed = self._bot_permissions()
        if not allowed & MANAGE_ROLES:
            raise ApiError(*_MISSING_PERMISSIONS)
        body: dict[str, Any] = payload_of(request) or {}
        name = body.get("name", "new role")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        permissions = int(str(body.get("permissions") or 0)) if str(body.get("permissions") or 0).isdigit() else -1
        if permissions < 0:
            raise form_error("permissions", "NUMBER_TYPE_COERCE", "Value is not int.")
        if permissions & ~allowed and not allowed & ADMINISTRATOR:
            raise ApiError(*_MISSING_PERMISSIONS)  # a bot cannot grant what it does not have
        role, _ = self.world.create_role(name, 1, permissions, mentionable=bool(body.get("mentionable", False)))
        color = body.get("color", 0)
        role.color = color if isinstance(color, int) and 0 <= color <= 0xFFFFFF else 0
        role.hoist = bool(body.get("hoist", False))
        return json_response(role_json(role))

    async def create_channel(self, request: web.Request) -> web.Response:
        """Create a text channel (needs Manage Channels)."""
        self._guild(request)
        if not self._bot_permissions() & MANAGE_CHANNELS:
            raise ApiError(*_MISSING_PERMISSIONS)
        body: dict[str, Any] = payload_of(request) or {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        try:
            channel = self.world.create_channel(name)
        except ValueError as exc:
            raise form_error("name", "BASE_TYPE_BAD_VALUE", str(exc)) from None
        return json_response(channel_json(self.world, channel), 201)
