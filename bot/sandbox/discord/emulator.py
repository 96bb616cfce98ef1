"""The Discord emulator: one aiohttp server with Discord's REST API and gateway, plus a Python control surface."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.sandbox.discord import messages as message_rules
from bot.sandbox.discord.commands import CommandRegistry
from bot.sandbox.discord.gateway import GUILDS, Gateway
from bot.sandbox.discord.guild_setup import GuildSetup
from bot.sandbox.discord.interactions import Interactions
from bot.sandbox.discord.payloads import channel_json, guild_json, iso, member_json, role_json, user_json
from bot.sandbox.discord.reactions import Reactions
from bot.sandbox.discord.rest import API_PREFIX, Fault, RestLayer
from bot.sandbox.discord.routes import Routes
from bot.sandbox.discord.world import TEXT_CHANNEL, Message, SnowflakeGenerator, World

log = logging.getLogger(__name__)

MAX_UPLOAD = 64 * 1024 * 1024


class DiscordEmulator:
    """Emulate Discord for one guild, over real HTTP and websocket on loopback, for an unmodified discord.py."""

    def __init__(
        self,
        *,
        clock: Clock,
        guild_name: str = "Vestry Sandbox",
        token: str = "sandbox-discord-token",
        rate_limits: str = "real",
    ) -> None:
        self.clock = clock
        self.token = token
        self.world = World(clock=clock, guild_name=guild_name, ids=SnowflakeGenerator(clock))
        self.gateway = Gateway(self.world, token)
        self.registry = CommandRegistry(self.world)
        self.interactions = Interactions(self.world, self.gateway, self.registry)
        self.reactions = Reactions(self.world, self.gateway)
        self.rest = RestLayer(token, clock, rate_limits)
        # Refused gateway commands are listed with the REST refusals (GET /discord/rejections).
        self.gateway.commands.rejections = self.gateway.member_requests.rejections = self.rest.rejections
        self.url = ""
        self.api_base = ""
        self.gateway_url = ""
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 picks a free port) and fill in the URLs."""
        app = web.Application(client_max_size=MAX_UPLOAD)
        self.rest.add_routes(
            app,
            Routes(self.world, self.gateway, self.registry, self.interactions, self.rest.limiter).table()
            + GuildSetup(self.world).table()
            + self.reactions.table(),
        )
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.api_base = self.url + API_PREFIX
        self.gateway_url = f"ws://{bound_host}:{bound_port}/gateway"
        self.gateway.url = self.gateway_url
        self.world.cdn_base = self.url
        log.info("discord emulator listening on %s", self.url)

    async def stop(self) -> None:
        """Close every gateway connection and stop serving."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_identified(self, timeout: float = 10.0) -> None:
        """Wait until a client has IDENTIFY'd and received READY and GUILD_CREATE."""
        await asyncio.wait_for(self.gateway.identified.wait(), timeout)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until a client has IDENTIFY'd (same as :meth:`wait_identified`)."""
        await self.wait_identified(timeout)

    async def _cdn(self, request: web.Request) -> web.Response:
        attachment_id = request.match_info["attachment_id"]
        attachment = self.world.uploads.get(int(attachment_id)) if attachment_id.isdigit() else None
        if attachment is None:
            raise web.HTTPNotFound()
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})

    # -- ids -------------------------------------------------------------------------------------------

    @property
    def guild_id(self) -> int:
        """Return the guild's id (also the id of @everyone)."""
        return self.world.guild_id

    @property
    def application_id(self) -> int:
        """Return the application's id."""
        return self.world.application_id

    @property
    def bot_user_id(self) -> int:
        """Return the bot user's id (equal to the application id, as for modern Discord apps)."""
        return self.world.bot_user_id

    @property
    def owner_id(self) -> int:
        """Return the guild owner's user id."""
        return self.world.owner_id

    def channel_id(self, ref: str | int) -> int:
        """Resolve a channel name, id or ``dm:<member>``; KeyError if unknown."""
        return self.world.channel(ref).id

    def role_id(self, ref: str | int) -> int:
        """Resolve a role name or id; KeyError if unknown."""
        return self.world.role(ref).id

    def member_id(self, ref: str | int) -> int:
        """Resolve a member name or id; KeyError if unknown."""
        return self.world.member(ref).user.id

    # -- world state -----------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Return the ``GET /discord/state`` body (ids as strings)."""
        world = self.world
        roles = sorted(world.roles.values(), key=lambda r: r.position)
        return {
            "guild": {"id": str(world.guild_id), "name": world.guild_name},
            "channels": [{"id": str(c.id), "name": c.name} for c in world.channels.values() if c.type == TEXT_CHANNEL],
            "roles": [{"id": str(r.id), "name": r.name, "position": r.position} for r in roles],
            "members": [
                {"id": str(m.user.id), "name": m.user.name, "roles": world.role_names(m)}
                for m in world.members.values()
            ],
        }

    def member_roles(self, member_ref: str | int) -> list[str]:
        """Return a member's role names, highest first."""
        return self.world.role_names(self.world.member(member_ref))

    async def add_member(self, name: str) -> int:
        """Create a user who joins the guild (GUILD_MEMBER_ADD); return the id."""
        member = self.world.add_member(name)
        data = member_json(self.world, member)
        data["guild_id"] = str(self.world.guild_id)
        self.gateway.member_event("GUILD_MEMBER_ADD", data, member.user.id)
        return member.user.id

    async def add_members_bulk(self, names: list[str]) -> None:
        """Add many members at once, without a gateway event each (for large-guild benchmarks)."""
        joined = self.clock.now()
        for name in names:
            self.world.add_member(name, joined_at=joined)

    async def remove_member(self, ref: str | int) -> None:
        """Make a member leave (GUILD_MEMBER_REMOVE)."""
        member = self.world.member(ref)
        if member.user.id in (self.world.owner_id, self.world.bot_user_id):
            raise ValueError("the owner and the bot cannot leave the sandbox guild")
        self.world.remove_member(member)
        data = {"guild_id": str(self.world.guild_id), "user": user_json(member.user)}
        self.gateway.member_event("GUILD_MEMBER_REMOVE", data, member.user.id)

    async def add_role(self, member_ref: str | int, role_ref: str | int) -> None:
        """Give a member a role as an admin would (no hierarchy check; GUILD_MEMBER_UPDATE)."""
        member, role = self.world.member(member_ref), self.world.role(role_ref)
        if role.id == self.world.guild_id or (role.managed and member.user.id != role.bot_id):
            raise ValueError(f"role {role.name!r} cannot be assigned by hand")
        if role.id not in member.roles:
            member.roles = (*member.roles, role.id)
            self.gateway.member_updated(member.user.id)

    async def remove_role(self, member_ref: str | int, role_ref: str | int) -> None:
        """Take a role from a member as an admin would (GUILD_MEMBER_UPDATE)."""
        member, role = self.world.member(member_ref), self.world.role(role_ref)
        if role.id in member.roles:
            member.roles = tuple(r for r in member.roles if r != role.id)
            self.gateway.member_updated(member.user.id)

    def create_role(
        self, name: str, position: int | None = None, *, managed: bool = False, mentionable: bool = False
    ) -> int:
        """Add a role at ``position`` (default: just above @everyone; roles at or above it move up one).

        A ``managed`` role belongs to an integration (a sponsor bot, server boosts): nobody can grant it.
        """
        role, shifted = self.world.create_role(name, position or 1, managed=managed, mentionable=mentionable)
        guild_id = str(self.world.guild_id)
        self.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": guild_id, "role": role_json(role)}, GUILDS)
        for other in shifted:
            self.gateway.dispatch("GUILD_ROLE_UPDATE", {"guild_id": guild_id, "role": role_json(other)}, GUILDS)
        return role.id

    def create_channel(self, name: str, *, private: bool = False) -> int:
        """Add a text channel (CHANNEL_CREATE); a private one the bot cannot see (50001 Missing Access)."""
        channel = self.world.create_channel(name, private=private)
        data = channel_json(self.world, channel)
        self.gateway.dispatch("CHANNEL_CREATE", data, GUILDS)
        return channel.id

    def block_dms(self, member_ref: str | int, blocked: bool = True) -> None:
        """Make a member refuse DMs from the bot (sending then fails with 50007), or accept them again."""
        self.world.member(member_ref).user.dms_open = not blocked

    async def member_message(self, channel_ref: str | int, member_ref: str | int, content: str) -> int:
        """Post a message as a member (MESSAGE_CREATE); return its id."""
        channel, member = self.world.channel(channel_ref), self.world.member(member_ref)
        if not content or len(content) > 2000:
            raise ValueError("a message needs 1 to 2000 characters")
        if not self.world.can_view(member, channel):
            raise ValueError(f"{member.user.name} cannot see #{channel.name}")
        message = Message(self.world.ids.next(), channel.id, member.user.id, self.clock.now(), content=content)
        message_rules.mentions(self.world, message)
        self.world.store_message(message)
        self.gateway.message_event("MESSAGE_CREATE", message)
        return message.id

    async def add_reaction(
        self, member_ref: str | int, message_ref: str | int, emoji: str, *, add: bool = True
    ) -> bool:
        """React to a message as a member, or take the reaction back (MESSAGE_REACTION_ADD / _REMOVE)."""
        member, message = self.world.member(member_ref), self.reactions.message(message_ref)
        return self.reactions.react(member, message, emoji, add=add)

    def set_preferred_locale(self, locale: str) -> None:
        """Change the guild's preferred locale ("de", "pt-BR"), as a server admin would (GUILD_UPDATE)."""
        self.world.preferred_locale = locale
        self.gateway.dispatch("GUILD_UPDATE", guild_json(self.world), GUILDS)

    async def close_gateway(self, code: int) -> int:
        """Close the bot's gateway connections with ``code`` (4004, 4014, 1001, ...); return how many."""
        if not 1000 <= code <= 4999:
            raise ValueError("a close code is between 1000 and 4999")
        return await self.gateway.close_all(code)

    def rejections(self) -> list[dict[str, Any]]:
        """Return every request the emulator refused since start (429s with ``global`` and ``scope``)."""
        return self.rest.rejections.list()

    # -- messages --------------------------------------------------------------------------------------

    def messages(self, channel: str | int) -> list[dict[str, Any]]:
        """Return a channel's (or ``dm:<member>``'s) visible messages, oldest first, edits applied."""
        world = self.world
        try:
            found = world.channel(channel)
        except KeyError:
            if str(channel).casefold().startswith("dm:"):
                world.user(str(channel)[3:])
                return []
            raise
        result = []
        for message_id in world.channel_messages.get(found.id, []):
            message = world.messages[message_id]
            if message.deleted or message.loading:
                continue
            result.append(
                {
                    "id": str(message.id),
                    "channel": world.channel_label(found),
                    "author": world.users[message.author_id].name,
                    "author_id": str(message.author_id),
                    "content": message.content,
                    "embeds": [dict(e) for e in message.embeds],
                    "components": list(message.components),
                    "attachments": [
                        {"id": str(a.id), "filename": a.filename, "content_type": a.content_type, "size": a.size}
                        for a in message.attachments
                    ],
                    "allowed_mentions": message.allowed_mentions,
                    "mentions": [world.users[u].name for u in message.mentions],
                    "mention_roles": [world.roles[r].name for r in message.mention_roles if r in world.roles],
                    "created_at": iso(message.timestamp),
                    "edited_at": iso(message.edited_timestamp),
                    "flags": message.flags,
                }
            )
        return result

    def attachment_bytes(self, message_id: str | int, filename: str) -> bytes:
        """Return the bytes of a message's attachment; KeyError if there is none by that name."""
        message = self.world.messages.get(int(message_id))
        for attachment in message.attachments if message else []:
            if attachment.filename == filename:
                return attachment.data
        raise KeyError(f"message {message_id} has no attachment {filename!r}")

    # -- interactions ----------------------------------------------------------------------------------

    @property
    def synced_commands(self) -> list[dict[str, Any]]:
        """Return the last guild command sync, with ids."""
        return self.registry.get(self.world.guild_id)

    @property
    def global_commands(self) -> list[dict[str, Any]]:
        """Return the last global command sync, with ids."""
        return self.registry.get(None)

    async def invoke_command(
        self,
        member_ref: str | int,
        command: str,
        options: dict[str, Any] | None = None,
        timeout: float = 15,
        *,
        channel: str | int = "general",
        locale: str = "en-US",
        dm: bool = False,
    ) -> dict[str, Any]:
        """Run ``/command`` as a member; return ``{"interaction", "responses"}`` once the bot has answered.

        ``dm`` runs it in the member's DM with the bot. LookupError when no such command is synced (or usable
        there); TimeoutError when the bot never answers.
        """
        return await self.interactions.invoke_command(
            member_ref, command, options, timeout, channel, locale=locale, dm=dm
        )

    async def invoke_menu(
        self,
        member_ref: str | int,
        name: str,
        *,
        message: str | int | None = None,
        member: str | int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """Run a context-menu command on a message or a member; same return shape as invoke_command."""
        if (message is None) == (member is None):
            raise ValueError("give target_message or target_member")
        kind, target = (3, message) if message is not None else (2, member)
        assert target is not None
        return await self.interactions.invoke_menu(member_ref, name, target, kind, 15, locale=locale)

    async def submit_modal(
        self,
        member_ref: str | int,
        interaction: str | int,
        custom_id: str,
        values: dict[str, str],
        *,
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Submit the modal an interaction was answered with; same return shape as invoke_command."""
        return await self.interactions.submit_modal(member_ref, interaction, custom_id, values, 15, locale=locale)

    async def autocomplete(
        self, member_ref: str | int, command: str, option: str, value: str, *, locale: str = "en-US"
    ) -> dict[str, Any]:
        """Type ``value`` into an autocomplete option (from a client in ``locale``); return ``{"choices"}``."""
        return await self.interactions.autocomplete(member_ref, command, option, value, 15, locale=locale)

    async def click_component(
        self,
        member_ref: str | int,
        message_id: str | int,
        custom_id: str,
        timeout: float = 15,
        *,
        values: list[Any] | None = None,
    ) -> dict[str, Any]:
        """Click a button (or choose select ``values``) on a message; same return shape as invoke_command."""
        return await self.interactions.click_component(member_ref, message_id, custom_id, timeout, values)

    # -- faults and traffic ----------------------------------------------------------------------------

    def add_fault(self, method: str, route: str, status: int, times: int, retry_after: float = 0.5) -> None:
        """Make the next ``times`` requests to ``route`` (a template like ``/channels/{channel_id}/messages``) fail."""
        self.rest.faults.append(Fault(method.upper(), route, int(status), int(times), float(retry_after)))

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.rest.faults.clear()

    async def disconnect(self) -> None:
        """Drop the gateway connection; the client must RESUME and gets the missed dispatches replayed."""
        await self.gateway.disconnect()

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Return ``{"METHOD /route/template": {"requests": n, "not_modified": 0}}``."""
        return self.rest.request_counts()

    def request_log(self) -> list[dict[str, Any]]:
        """Return the recent requests: method, route template, path, query, JSON payload, status."""
        return list(self.rest.log)
