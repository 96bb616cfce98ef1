"""Reactions on messages: members' (through the control API) and the bot's own (``PUT``/``DELETE .../@me``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox.discord.gateway import GUILD_MESSAGE_REACTIONS, Gateway
from bot.sandbox.discord.payloads import member_json
from bot.sandbox.discord.rest import ApiError, Handler, no_content
from bot.sandbox.discord.world import ADD_REACTIONS, DM_CHANNEL, READ_MESSAGE_HISTORY, Member, Message, World

_EMOJI_MAX = 32
_OWN = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"


def _emoji_json(emoji: str) -> dict[str, Any]:
    name, _, emoji_id = emoji.partition(":")
    return {"id": emoji_id or None, "name": name}


class Reactions:
    """Who reacted to which message with what, and the gateway events for each change."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway
        self.by_message: dict[int, dict[str, list[int]]] = {}

    def table(self) -> list[tuple[str, str, Handler, bool]]:
        """The REST routes of the bot's own reactions."""
        return [("PUT", _OWN, self.put_own, True), ("DELETE", _OWN, self.delete_own, True)]

    def listing(self, message_id: int) -> list[dict[str, Any]]:
        """Describe a message's reactions: ``[{"emoji", "count", "me", "users"}]``."""
        found = []
        for emoji, users in self.by_message.get(message_id, {}).items():
            names = [self.world.users[u].name for u in users if u in self.world.users]
            me = self.world.bot_user_id in users
            found.append({"emoji": emoji, "count": len(users), "me": me, "users": names})
        return found

    def message(self, ref: str | int) -> Message:
        """Find a visible message by id (KeyError when there is none)."""
        message = self.world.messages.get(int(ref)) if str(ref).isdigit() else None
        if message is None or message.deleted or message.ephemeral:
            raise KeyError(f"no message {ref}")
        return message

    def react(self, member: Member, message: Message, emoji: str, *, add: bool) -> bool:
        """Add or remove one member's reaction; send the gateway event; return whether anything changed."""
        if not emoji or len(emoji) > _EMOJI_MAX or any(char.isspace() for char in emoji):
            raise ValueError("an emoji is 1 to 32 characters, without spaces (a custom one as name:id)")
        users = self.by_message.setdefault(message.id, {}).setdefault(emoji, [])
        user_id = member.user.id
        if (user_id in users) == add:
            return False
        if add:
            users.append(user_id)
        else:
            users.remove(user_id)
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "guild_id": str(self.world.guild_id),
            "emoji": _emoji_json(emoji),
            "burst": False,
            "type": 0,
        }
        if add:
            data["member"] = member_json(self.world, member)
            data["message_author_id"] = str(message.author_id)
        event = "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE"
        self.gateway.dispatch(event, data, GUILD_MESSAGE_REACTIONS)
        return True

    def _target(self, request: web.Request) -> tuple[Message, str]:
        channel = self.world.channels.get(_int(request.match_info["channel_id"]))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        bot = self.world.bot_member
        if channel.type != DM_CHANNEL and not self.world.can_view(bot, channel):
            raise ApiError(403, 50001, "Missing Access")
        message = self.world.messages.get(_int(request.match_info["message_id"]))
        if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
            raise ApiError(404, 10008, "Unknown Message")
        emoji = request.match_info["emoji"]
        name, colon, emoji_id = emoji.partition(":")
        if not name or len(emoji) > _EMOJI_MAX or (colon and not emoji_id.isdigit()) or colon:
            raise ApiError(400, 10014, "Unknown Emoji")  # the sandbox guild has no custom emojis
        return message, emoji

    async def put_own(self, request: web.Request) -> web.Response:
        """The bot reacts to a message (needs Add Reactions and Read Message History)."""
        message, emoji = self._target(request)
        needed = ADD_REACTIONS | READ_MESSAGE_HISTORY
        if self.world.permissions(self.world.bot_member) & needed != needed:
            raise ApiError(403, 50013, "Missing Permissions")
        self.react(self.world.bot_member, message, emoji, add=True)
        return no_content()

    async def delete_own(self, request: web.Request) -> web.Response:
        """The bot takes its own reaction off a message (nothing to take is not an error)."""
        message, emoji = self._target(request)
        self.react(self.world.bot_member, message, emoji, add=False)
        return no_content()


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0
