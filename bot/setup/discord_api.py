"""The few Discord REST calls ``vestry init`` makes with the bot's token: who am I, where am I, what is there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

DISCORD_API = "https://discord.com/api/v10"
GATEWAY_GUILD_MEMBERS = 1 << 14
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
TEXT_CHANNEL = 0
PERMISSIONS = {
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Embed Links": 1 << 14,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
    "Manage Roles": 1 << 28,
}
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4


class DiscordSetupError(Exception):
    """Discord refused or could not be reached; the message says what to do."""


@dataclass(frozen=True)
class Guild:
    """A server the bot is in, with the bot's permissions there."""

    id: int
    name: str
    permissions: int


@dataclass(frozen=True)
class Role:
    """A role of the server."""

    id: int
    name: str
    position: int
    managed: bool
    bot_id: int | None


@dataclass(frozen=True)
class Channel:
    """A text channel of the server."""

    id: int
    name: str


class DiscordSetupApi:
    """Call Discord's REST API as the bot (``Authorization: Bot <token>``)."""

    def __init__(self, token: str, base_url: str = DISCORD_API, timeout: float = 15) -> None:
        self.base = base_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (https://github.com/vestry, init)"}
        )
        self._timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self._session.request(method, self.base + path, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise DiscordSetupError(f"cannot reach Discord at {self.base} ({type(exc).__name__})") from None
        if response.status_code == 401:
            raise DiscordSetupError(
                "Discord refused the bot token (401): copy a fresh one from the Developer Portal (Bot → Reset Token)"
            )
        if response.status_code >= 400:
            try:
                data = response.json()
            except ValueError:
                data = {}
            message = data.get("message") if isinstance(data, dict) else None
            raise DiscordSetupError(f"Discord answered {response.status_code} to {method} {path}: {message or 'error'}")
        return response.json() if response.content else None

    def me(self) -> dict[str, Any]:
        """Return the bot's own user."""
        return dict(self._call("GET", "/users/@me"))

    def application_flags(self) -> int:
        """Return the application's flags (which privileged intents are turned on)."""
        return int(self._call("GET", "/applications/@me").get("flags") or 0)

    def guilds(self) -> list[Guild]:
        """List the servers the bot is in."""
        return [
            Guild(int(g["id"]), str(g["name"]), int(g.get("permissions") or 0))
            for g in self._call("GET", "/users/@me/guilds")
        ]

    def roles(self, guild_id: int) -> list[Role]:
        """List the server's roles, lowest first."""
        found = [
            Role(
                int(r["id"]),
                str(r["name"]),
                int(r["position"]),
                bool(r.get("managed")),
                int(r["tags"]["bot_id"]) if isinstance(r.get("tags"), dict) and r["tags"].get("bot_id") else None,
            )
            for r in self._call("GET", f"/guilds/{guild_id}/roles")
        ]
        return sorted(found, key=lambda role: role.position)

    def channels(self, guild_id: int) -> list[Channel]:
        """List the server's text channels."""
        rows = self._call("GET", f"/guilds/{guild_id}/channels")
        return [Channel(int(c["id"]), str(c["name"])) for c in rows if c.get("type") == TEXT_CHANNEL]

    def member_roles(self, guild_id: int, user_id: int) -> list[int]:
        """Return the role ids of a member of the server."""
        return [int(r) for r in self._call("GET", f"/guilds/{guild_id}/members/{user_id}").get("roles") or []]

    def create_role(self, guild_id: int, name: str, color: int) -> Role:
        """Create a role (Discord puts it at the bottom of the list, above @everyone)."""
        data = self._call("POST", f"/guilds/{guild_id}/roles", {"name": name, "color": color, "permissions": "0"})
        return Role(int(data["id"]), str(data["name"]), int(data["position"]), False, None)

    def create_channel(self, guild_id: int, name: str) -> Channel:
        """Create a text channel."""
        data = self._call("POST", f"/guilds/{guild_id}/channels", {"name": name, "type": TEXT_CHANNEL})
        return Channel(int(data["id"]), str(data["name"]))

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


def missing_permissions(granted: int) -> list[str]:
    """Name the permissions Vestry needs that ``granted`` lacks."""
    if granted & ADMINISTRATOR:
        return []
    return [name for name, bit in PERMISSIONS.items() if not granted & bit]
