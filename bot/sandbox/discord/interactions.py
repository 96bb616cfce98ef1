"""Interactions: INTERACTION_CREATE payloads for the control API, and collecting the bot's answer."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from typing import Any

from bot.i18n.locales import DISCORD_LOCALES
from bot.sandbox.discord.answers import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    TOKEN_LIFETIME,
    Answers,
    InteractionRecord,
)
from bot.sandbox.discord.commands import CHANNEL, MENTIONABLE, ROLE, USER, CommandRegistry, build_options, option_value
from bot.sandbox.discord.gateway import Gateway
from bot.sandbox.discord.menus import MESSAGE_MENU, find_menu, menu_data, modal_view, submission
from bot.sandbox.discord.payloads import ATTACHMENT_SIZE_LIMIT, channel_json, member_json, message_json, user_json
from bot.sandbox.discord.world import (
    ATTACH_FILES,
    DM_CHANNEL,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    Member,
    World,
)

log = logging.getLogger(__name__)

_SELECT_KINDS = {5: USER, 6: ROLE, 7: MENTIONABLE, 8: CHANNEL}
DM_APP_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY


class Interactions(Answers):
    """Create interactions for the control API and serve the routes the bot answers them on."""

    def __init__(self, world: World, gateway: Gateway, registry: CommandRegistry) -> None:
        self.world = world
        self.gateway = gateway
        self.registry = registry
        self.records: dict[int, InteractionRecord] = {}
        self._tokens: dict[str, InteractionRecord] = {}
        self._expired: OrderedDict[str, None] = OrderedDict()
        self.callback_deadline = 3.0
        self.quiet_period = 0.25
        self.deferred_update_wait = 2.0
        self.enforce_command_permissions = False

    # -- creating interactions -------------------------------------------------------------------------

    def _new(
        self, kind: int, member: Member, channel: Channel, name: str, source: int | None = None
    ) -> InteractionRecord:
        now, at = asyncio.get_running_loop().time(), self.world.clock.now()
        for old in [r for r in self.records.values() if at - r.created_at > 2 * TOKEN_LIFETIME]:
            del self.records[old.id]
            del self._tokens[old.token]
            self._expired[old.token] = None  # still answered 401 50027, as Discord does, not 404
            if len(self._expired) > 10_000:
                self._expired.popitem(last=False)
        if not self.gateway.sessions:
            raise TimeoutError("no bot is connected to the gateway")
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        record = InteractionRecord(
            self.world.ids.next(), token, kind, member.user.id, channel.id, name, now, at, source
        )
        self.records[record.id] = record
        self._tokens[token] = record
        return record

    def _payload(
        self, record: InteractionRecord, member: Member, channel: Channel, locale: str = "en-US"
    ) -> dict[str, Any]:
        world = self.world
        if locale not in DISCORD_LOCALES:
            raise ValueError(f"{locale!r} is not a Discord locale (one of {', '.join(sorted(DISCORD_LOCALES))})")
        record.locale = locale
        if channel.type == DM_CHANNEL:
            return {
                "id": str(record.id),
                "application_id": str(world.application_id),
                "type": record.type,
                "token": record.token,
                "version": 1,
                "channel_id": str(channel.id),
                "channel": channel_json(world, channel),
                "user": user_json(member.user),
                "app_permissions": str(DM_APP_PERMISSIONS),
                "locale": locale,
                "entitlements": [],
                "entitlement_sku_ids": [],
                "authorizing_integration_owners": {"0": str(world.guild_id)},
                "context": 1,
                "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            }
        return {
            "id": str(record.id),
            "application_id": str(world.application_id),
            "type": record.type,
            "token": record.token,
            "version": 1,
            "guild_id": str(world.guild_id),
            "guild": {"id": str(world.guild_id), "locale": world.preferred_locale, "features": []},
            "channel_id": str(channel.id),
            "channel": channel_json(world, channel, permissions=world.permissions(member)),
            "member": member_json(world, member, permissions=True),
            "app_permissions": str(world.permissions(world.bot_member)),
            "locale": locale,
            "guild_locale": world.preferred_locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(world.guild_id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }

    async def invoke_command(
        self,
        member_ref: str | int,
        command: str,
        options: dict[str, Any] | None,
        timeout: float,
        channel_ref: str | int,
        *,
        locale: str = "en-US",
        dm: bool = False,
    ) -> dict[str, Any]:
        """Run a slash command as a member (in a DM with ``dm``) and return the bot's responses."""
        resolved = self.registry.find(command, dm=dm)
        member = self.world.member(member_ref)
        channel = self.world.open_dm(member.user) if dm else self.world.channel(channel_ref)
        data_options, found = build_options(self.world, resolved, options or {})
        required = resolved.command.get("default_member_permissions")
        if (
            self.enforce_command_permissions
            and required is not None
            and int(required) & ~self.world.permissions(member)
        ):
            raise PermissionError(f"{member.user.name} may not use /{command}")
        record = self._new(APPLICATION_COMMAND, member, channel, " ".join(resolved.path))
        data: dict[str, Any] = {
            "id": resolved.command["id"],
            "name": resolved.command["name"],
            "type": 1,
            "options": data_options,
        }
        if resolved.guild_id is not None:
            data["guild_id"] = str(resolved.guild_id)
        if found:
            data["resolved"] = found
        payload = self._payload(record, member, channel, locale)
        payload["data"] = data
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return await self._collect(record, timeout)

    async def invoke_menu(
        self, member_ref: str | int, name: str, target: str | int, kind: int, timeout: float, *, locale: str = "en-US"
    ) -> dict[str, Any]:
        """Run a context-menu command on a message (``kind`` 3) or a member (2); return the bot's responses."""
        member = self.world.member(member_ref)
        for guild_id in (self.world.guild_id, None):
            command = find_menu(self.registry.get(guild_id), name, kind)
            if command is not None:
                break
        else:
            raise LookupError(f"{name!r} is not a synced context-menu command")
        data = menu_data(self.world, command, target)
        source = self.world.messages[int(data["target_id"])] if kind == MESSAGE_MENU else None
        channel = self.world.channels[source.channel_id] if source is not None else self.world.channel("general")
        record = self._new(APPLICATION_COMMAND, member, channel, name)
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        payload = self._payload(record, member, channel, locale)
        payload["data"] = data
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return await self._collect(record, timeout)

    async def submit_modal(
        self,
        member_ref: str | int,
        interaction: str | int,
        custom_id: str,
        values: dict[str, str],
        timeout: float,
        *,
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Submit the modal an interaction was answered with; return the bot's responses to the submission.

        Only the member the modal was shown to can submit it; the submission carries their locale.
        """
        member = self.world.member(member_ref)
        earlier = self.records.get(int(interaction)) if str(interaction).isdigit() else None
        modal = next(
            (
                e
                for e in (earlier.entries if earlier else [])
                if isinstance(e, dict) and e.get("custom_id") == custom_id
            ),
            None,
        )
        if earlier is None or modal is None:
            raise LookupError(f"interaction {interaction} was not answered with a modal {custom_id!r}")
        if earlier.member_id != member.user.id:
            raise LookupError(f"the modal {custom_id!r} was shown to another member, not {member.user.name}")
        channel = self.world.channels[earlier.channel_id]
        record = self._new(MODAL_SUBMIT, member, channel, custom_id, earlier.source_message_id)
        payload = self._payload(record, member, channel, locale or earlier.locale)
        payload["data"] = submission(modal, values)
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return await self._collect(record, timeout)

    async def autocomplete(
        self, member_ref: str | int, command: str, option: str, value: str, timeout: float, *, locale: str = "en-US"
    ) -> dict[str, Any]:
        """Type ``value`` into ``option`` of ``/command`` as a member; return ``{"choices"}`` as the bot answered."""
        resolved = self.registry.find(command)
        member = self.world.member(member_ref)
        channel = self.world.channel("general")
        schema = next((o for o in resolved.schema if o.get("name") == option), None)
        if schema is None or not schema.get("autocomplete"):
            raise LookupError(f"/{command} has no option {option!r} with autocomplete")
        data_options, _ = build_options(self.world, resolved, {}, focused=(option, value))
        record = self._new(AUTOCOMPLETE, member, channel, " ".join(resolved.path))
        data = {"id": resolved.command["id"], "name": resolved.command["name"], "type": 1, "options": data_options}
        if resolved.guild_id is not None:
            data["guild_id"] = str(resolved.guild_id)
        payload = self._payload(record, member, channel, locale)
        payload["data"] = data
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        try:
            await asyncio.wait_for(record.acked.wait(), min(timeout, self.callback_deadline + 0.5))
        except TimeoutError:
            raise TimeoutError(f"the bot did not answer the autocomplete of /{command} in time") from None
        return {"choices": record.choices}

    async def click_component(
        self, member_ref: str | int, message_id: str | int, custom_id: str, timeout: float, values: list[Any] | None
    ) -> dict[str, Any]:
        """Click a button (or pick select values) on a stored message and return the bot's responses."""
        member = self.world.member(member_ref)
        message = self.world.messages.get(int(message_id))
        if message is None or message.deleted:
            raise LookupError(f"no message {message_id}")
        component = _find_component(message.components, custom_id)
        if component is None:
            raise LookupError(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        channel = self.world.channels[message.channel_id]
        record = self._new(MESSAGE_COMPONENT, member, channel, custom_id, message.id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            kind = _SELECT_KINDS.get(component["type"])
            found: dict[str, Any] = {}
            picked = list(values or [])
            data["values"] = [option_value(self.world, kind, v, found) for v in picked] if kind else picked
            if found:
                data["resolved"] = found
        payload = self._payload(record, member, channel)
        payload["message"] = message_json(self.world, message)
        payload["data"] = data
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return await self._collect(record, timeout)

    async def _collect(self, record: InteractionRecord, timeout: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        what = f"/{record.name}" if record.type == APPLICATION_COMMAND else f"the {record.name!r} component"
        try:
            await asyncio.wait_for(record.acked.wait(), min(timeout, self.callback_deadline + 0.5))
        except TimeoutError:
            raise TimeoutError(f"the bot did not acknowledge {what} in time") from None
        if record.callback_type in (5, 6) and not record.answered.is_set():
            wait = deadline - loop.time()
            if record.callback_type == 6:
                wait = min(wait, self.deferred_update_wait)
            try:
                await asyncio.wait_for(record.answered.wait(), max(wait, 0))
            except TimeoutError:
                if record.callback_type == 5:
                    raise TimeoutError(f"the bot deferred {what} but never answered") from None
        while (remaining := deadline - loop.time()) > 0:
            record.changed.clear()
            try:
                await asyncio.wait_for(record.changed.wait(), min(self.quiet_period, remaining))
            except TimeoutError:
                break
        return {"interaction": str(record.id), "responses": self.responses(record)}

    def responses(self, record: InteractionRecord) -> list[dict[str, Any]]:
        """Return the visible responses so far, in the order they were made."""
        result = []
        for entry in record.entries:
            if isinstance(entry, dict):
                view = modal_view(entry)
                modal = {"modal": view, "content": None, "embeds": [], "components": [], "ephemeral": True}
                result.append({**modal, "attachments": []})
                continue
            message = self.world.messages[entry]
            if message.deleted or message.loading:
                continue
            result.append(
                {
                    "id": str(message.id),
                    "content": message.content,
                    "embeds": [dict(e) for e in message.embeds],
                    "components": list(message.components),
                    "ephemeral": message.ephemeral,
                    "attachments": [
                        {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                        for a in message.attachments
                    ],
                }
            )
        return result


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    stack = list(components)
    while stack:
        item = stack.pop(0)
        if item.get("custom_id") == custom_id:
            return item
        stack.extend(c for c in item.get("components") or [] if isinstance(c, dict))
        if isinstance(item.get("accessory"), dict):
            stack.append(item["accessory"])
    return None
