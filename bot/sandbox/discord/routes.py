"""The REST routes a bot calls: login, application, gateway, commands, guild, members, roles, channels, messages."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.sandbox.discord import messages as message_rules
from bot.sandbox.discord.commands import CommandRegistry
from bot.sandbox.discord.gateway import Gateway
from bot.sandbox.discord.interactions import Interactions
from bot.sandbox.discord.payloads import (
    channel_json,
    guild_json,
    me_json,
    member_json,
    message_json,
    role_json,
    user_json,
)
from bot.sandbox.discord.rest import ApiError, Handler, files_of, form_error, json_response, no_content, payload_of
from bot.sandbox.discord.world import (
    ATTACH_FILES,
    DM_CHANNEL,
    EPHEMERAL,
    MANAGE_MESSAGES,
    MANAGE_NICKNAMES,
    MANAGE_ROLES,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    Member,
    Message,
    Role,
    World,
)

_MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
NONCE_WINDOW = timedelta(minutes=5)


class Routes:
    """Handlers for the bot-facing REST API."""

    def __init__(self, world: World, gateway: Gateway, registry: CommandRegistry, interactions: Interactions) -> None:
        self.world = world
        self.gateway = gateway
        self.registry = registry
        self.interactions = interactions
        self._nonces: dict[tuple[int, str], int] = {}

    def table(self) -> list[tuple[str, str, Handler, bool]]:
        """Return ``(method, template, handler, needs_bot_auth)`` for every route (templates as in Discord's spec)."""
        i = self.interactions
        webhook = "/webhooks/{webhook_id}/{webhook_token}"
        commands = "/applications/{application_id}/commands"
        guild_commands = "/applications/{application_id}/guilds/{guild_id}/commands"
        return [
            ("GET", "/users/@me", self.get_me, True),
            ("POST", "/users/@me/channels", self.create_dm, True),
            ("GET", "/users/{user_id}", self.get_user, True),
            ("GET", "/oauth2/applications/@me", self.get_application, True),
            ("GET", "/applications/@me", self.get_application, True),
            ("GET", "/gateway", self.get_gateway, False),
            ("GET", "/gateway/bot", self.get_gateway_bot, True),
            ("GET", commands, self.get_commands, True),
            ("PUT", commands, self.put_commands, True),
            ("GET", guild_commands, self.get_commands, True),
            ("PUT", guild_commands, self.put_commands, True),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", i.callback, False),
            ("POST", webhook, i.followup, False),
            ("GET", webhook + "/messages/@original", i.get_message, False),
            ("PATCH", webhook + "/messages/@original", i.edit_message, False),
            ("DELETE", webhook + "/messages/@original", i.delete_message, False),
            ("GET", webhook + "/messages/{message_id}", i.get_message, False),
            ("PATCH", webhook + "/messages/{message_id}", i.edit_message, False),
            ("DELETE", webhook + "/messages/{message_id}", i.delete_message, False),
            ("GET", "/guilds/{guild_id}", self.get_guild, True),
            ("GET", "/guilds/{guild_id}/roles", self.get_roles, True),
            ("GET", "/guilds/{guild_id}/channels", self.get_channels, True),
            ("GET", "/guilds/{guild_id}/members", self.list_members, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member, True),
            ("PATCH", "/guilds/{guild_id}/members/{user_id}", self.patch_member, True),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.put_member_role, True),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.delete_member_role, True),
            ("GET", "/channels/{channel_id}", self.get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self.list_messages, True),
            ("POST", "/channels/{channel_id}/messages", self.create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message, True),
            ("POST", "/channels/{channel_id}/typing", self.typing, True),
        ]

    # -- lookups that fail the way Discord fails ---------------------------------------------------------

    def _guild(self, request: web.Request) -> None:
        if request.match_info["guild_id"] != str(self.world.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")

    def _member(self, request: web.Request) -> Member:
        self._guild(request)
        member = self.world.members.get(_int(request.match_info["user_id"]))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return member

    def _channel(self, request: web.Request) -> Channel:
        channel = self.world.channels.get(_int(request.match_info["channel_id"]))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, request: web.Request, channel: Channel) -> Message:
        message = self.world.messages.get(_int(request.match_info["message_id"]))
        if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _need(self, permission: int) -> None:
        if not self.world.permissions(self.world.bot_member) & permission == permission:
            raise ApiError(*_MISSING_PERMISSIONS)

    def _check_role(self, role_id: int) -> Role:
        role = self.world.roles.get(role_id)
        if role is None:
            raise ApiError(404, 10011, "Unknown Role")
        self._need(MANAGE_ROLES)
        if role.id == self.world.guild_id or role.position >= self.world.top_position(self.world.bot_member):
            raise ApiError(*_MISSING_PERMISSIONS)
        return role

    # -- users, application, gateway, commands ---------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        """Return the bot's own user."""
        return json_response(me_json(self.world.users[self.world.bot_user_id]))

    async def get_user(self, request: web.Request) -> web.Response:
        """Return any known user."""
        user = self.world.users.get(_int(request.match_info["user_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user_json(user))

    async def get_application(self, request: web.Request) -> web.Response:
        """Return the application (no ``interactions_endpoint_url``: interactions come over the gateway)."""
        world = self.world
        bot = world.users[world.bot_user_id]
        return json_response(
            {
                "id": str(world.application_id),
                "name": bot.name,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": hashlib.sha256(str(world.application_id).encode()).hexdigest(),
                "flags": 0,
                "owner": user_json(world.users[world.owner_id]),
                "team": None,
                "rpc_origins": [],
                "redirect_uris": [],
                "tags": [],
                "hook": True,
                "bot": user_json(bot),
                "approximate_guild_count": 1,
                "integration_types_config": {"0": {}},
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        """Return the gateway URL."""
        return json_response({"url": self.gateway.url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """Return the gateway URL, one shard and the session start limit."""
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        return json_response({"url": self.gateway.url, "shards": 1, "session_start_limit": limit})

    def _scope(self, request: web.Request) -> int | None:
        if request.match_info["application_id"] != str(self.world.application_id):
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" in request.match_info:
            self._guild(request)
            return self.world.guild_id
        return None

    async def get_commands(self, request: web.Request) -> web.Response:
        """List the synced commands of a scope."""
        return json_response(self.registry.get(self._scope(request)))

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk-overwrite a scope's commands."""
        return json_response(self.registry.sync(self._scope(request), payload_of(request)))

    # -- guild, members, roles -------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        """Return the guild, with approximate counts when asked."""
        self._guild(request)
        data = guild_json(self.world)
        if request.query.get("with_counts", "").lower() in ("1", "true"):
            data.update(approximate_member_count=len(self.world.members), approximate_presence_count=0)
        return json_response(data)

    async def get_roles(self, request: web.Request) -> web.Response:
        """List the roles."""
        self._guild(request)
        return json_response([role_json(r) for r in sorted(self.world.roles.values(), key=lambda r: r.position)])

    async def get_channels(self, request: web.Request) -> web.Response:
        """List the guild channels."""
        self._guild(request)
        world = self.world
        return json_response([channel_json(world, c) for c in world.channels.values() if c.type != DM_CHANNEL])

    async def list_members(self, request: web.Request) -> web.Response:
        """List members by ascending id (``limit`` 1–1000, ``after``)."""
        self._guild(request)
        limit = min(max(_int(request.query.get("limit", "1")), 1), 1000)
        after = _int(request.query.get("after", "0"))
        page: list[dict[str, Any]] = []
        for user_id in self.world.members:  # snowflakes only grow, so insertion order is id order
            if user_id > after:
                page.append(member_json(self.world, self.world.members[user_id]))
                if len(page) == limit:
                    break
        return json_response(sorted(page, key=lambda m: int(m["user"]["id"])))

    async def get_member(self, request: web.Request) -> web.Response:
        """Return one member."""
        return json_response(member_json(self.world, self._member(request)))

    async def patch_member(self, request: web.Request) -> web.Response:
        """Change a member's roles (full list) or nickname."""
        member = self._member(request)
        body = payload_of(request) or {}
        if "nick" in body:
            self._need(MANAGE_NICKNAMES)
            if member.user.id == self.world.owner_id:
                raise ApiError(*_MISSING_PERMISSIONS)
        roles = member.roles
        if body.get("roles") is not None:
            wanted = tuple(dict.fromkeys(_int(r) for r in body["roles"]))
            for role_id in set(wanted) ^ set(member.roles):
                self._check_role(role_id)
            roles = wanted
        changed = roles != member.roles or ("nick" in body and body["nick"] != member.nick)
        member.roles = roles
        if "nick" in body:
            member.nick = body["nick"] or None
        if changed:
            self.gateway.member_updated(member.user.id)
        return json_response(member_json(self.world, member))

    async def put_member_role(self, request: web.Request) -> web.Response:
        """Give a member a role below the bot's highest role."""
        member = self._member(request)
        role = self._check_role(_int(request.match_info["role_id"]))
        if role.id not in member.roles:
            member.roles = (*member.roles, role.id)
            self.gateway.member_updated(member.user.id)
        return no_content()

    async def delete_member_role(self, request: web.Request) -> web.Response:
        """Take a role below the bot's highest role from a member."""
        member = self._member(request)
        role = self._check_role(_int(request.match_info["role_id"]))
        if role.id in member.roles:
            member.roles = tuple(r for r in member.roles if r != role.id)
            self.gateway.member_updated(member.user.id)
        return no_content()

    # -- channels and messages -------------------------------------------------------------------------

    async def create_dm(self, request: web.Request) -> web.Response:
        """Open (or return) the DM channel with a user."""
        recipient = (payload_of(request) or {}).get("recipient_id")
        user = self.world.users.get(_int(str(recipient)))
        if user is None or user.bot:
            raise form_error("recipient_id", "INVALID_RECIPIENT", "Invalid Recipient(s)")
        return json_response(channel_json(self.world, self.world.open_dm(user)))

    async def get_channel(self, request: web.Request) -> web.Response:
        """Return a channel."""
        return json_response(channel_json(self.world, self._channel(request)))

    async def typing(self, request: web.Request) -> web.Response:
        """Accept a typing indicator."""
        self._channel(request)
        return no_content()

    def _check_can_send(self, channel: Channel, has_files: bool) -> None:
        if channel.type == DM_CHANNEL:
            user = self.world.users[channel.recipient_id or 0]
            if channel.recipient_id not in self.world.members or not user.dms_open:
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        self._need(VIEW_CHANNEL | SEND_MESSAGES | (ATTACH_FILES if has_files else 0))

    async def create_message(self, request: web.Request) -> web.Response:
        """Post a message as the bot (JSON or multipart with files)."""
        channel = self._channel(request)
        body, files = payload_of(request) or {}, files_of(request)
        self._check_can_send(channel, bool(files))
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None:
            earlier = self.world.messages.get(self._nonces.get((channel.id, str(nonce)), 0))
            # Discord remembers a nonce for a few minutes only (notes/discord-limits.md), on the sandbox clock.
            fresh = earlier is not None and self.world.clock.now() - earlier.timestamp < NONCE_WINDOW
            if earlier is not None and fresh and not earlier.deleted:
                return json_response(message_json(self.world, earlier))
        message_rules.validate(body, files, creating=True)
        world = self.world
        message = Message(world.ids.next(), channel.id, world.bot_user_id, world.clock.now())
        message_rules.apply(world, message, body, files, creating=True)
        message.flags &= ~EPHEMERAL  # only interaction responses can be ephemeral
        world.store_message(message)
        if nonce is not None:
            self._nonces[(channel.id, str(nonce))] = message.id
        self.gateway.message_event("MESSAGE_CREATE", message)
        return json_response(message_json(world, message))

    async def list_messages(self, request: web.Request) -> web.Response:
        """List a channel's messages, newest first (``limit``, ``before``, ``after``, ``around``)."""
        channel = self._channel(request)
        limit = min(max(_int(request.query.get("limit", "50")), 1), 100)
        ids = [i for i in self.world.channel_messages.get(channel.id, []) if not self.world.messages[i].deleted]
        query = request.query
        if "around" in query:
            pivot = _int(query["around"])
            older = [i for i in ids if i <= pivot][-((limit + 1) // 2) :]
            newer = [i for i in ids if i > pivot][: limit - len(older)]
            chosen = older + newer
        elif "after" in query:
            chosen = [i for i in ids if i > _int(query["after"])][:limit]
        else:
            before = _int(query.get("before", "0")) or None
            chosen = [i for i in ids if before is None or i < before][-limit:]
        return json_response([message_json(self.world, self.world.messages[i]) for i in reversed(chosen)])

    async def get_message(self, request: web.Request) -> web.Response:
        """Return one message."""
        channel = self._channel(request)
        return json_response(message_json(self.world, self._message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        """Edit one of the bot's own messages."""
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.world.bot_user_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = payload_of(request) or {}, files_of(request)
        message_rules.validate(body, files, creating=False)
        message_rules.apply(self.world, message, body, files, creating=False)
        message.edited_timestamp = self.world.clock.now()
        self.gateway.message_event("MESSAGE_UPDATE", message)
        return json_response(message_json(self.world, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        """Delete a message (others' need Manage Messages)."""
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.world.bot_user_id:
            self._need(MANAGE_MESSAGES)
        message.deleted = True
        self.gateway.message_event("MESSAGE_DELETE", message)
        return no_content()


def _int(text: str | int) -> int:
    """Parse a snowflake or number from a path, query or body; junk becomes 0 (which matches nothing)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    return int(text) if isinstance(text, str) and text.isdigit() else 0
