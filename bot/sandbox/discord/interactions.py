"""Interactions: INTERACTION_CREATE payloads, the callback/followup/edit routes, and collecting the bot's answer."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.discord import messages as message_rules
from bot.sandbox.discord.commands import CHANNEL, MENTIONABLE, ROLE, USER, CommandRegistry, build_options, option_value
from bot.sandbox.discord.gateway import Gateway
from bot.sandbox.discord.payloads import ATTACHMENT_SIZE_LIMIT, channel_json, member_json, message_json, user_json
from bot.sandbox.discord.rest import ApiError, files_of, form_error, json_response, no_content, payload_of
from bot.sandbox.discord.world import EPHEMERAL, LOADING, Channel, Member, Message, World

log = logging.getLogger(__name__)

APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3
TOKEN_LIFETIME = 15 * 60
_SELECT_KINDS = {5: USER, 6: ROLE, 7: MENTIONABLE, 8: CHANNEL}
_ALLOWED_CALLBACKS = {APPLICATION_COMMAND: {4, 5, 8, 9}, MESSAGE_COMPONENT: {4, 5, 6, 7, 9}}


@dataclass(eq=False)
class InteractionRecord:
    """One interaction and everything the bot answered to it."""

    id: int
    token: str
    type: int
    member_id: int
    channel_id: int
    name: str
    created: float
    source_message_id: int | None = None
    callback_type: int | None = None
    original_id: int | None = None
    entries: list[int | dict[str, Any]] = field(default_factory=list)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, entry: int | dict[str, Any], *, visible: bool = True) -> None:
        """Note a response message (or modal) and wake whoever is collecting."""
        if entry not in self.entries:
            self.entries.append(entry)
        if visible:
            self.answered.set()
        self.changed.set()


class Interactions:
    """Create interactions for the control API and serve the routes the bot answers them on."""

    def __init__(self, world: World, gateway: Gateway, registry: CommandRegistry) -> None:
        self.world = world
        self.gateway = gateway
        self.registry = registry
        self.records: dict[int, InteractionRecord] = {}
        self._tokens: dict[str, InteractionRecord] = {}
        self.callback_deadline = 3.0
        self.quiet_period = 0.25
        self.deferred_update_wait = 2.0
        self.enforce_command_permissions = False

    # -- creating interactions -------------------------------------------------------------------------

    def _new(
        self, kind: int, member: Member, channel: Channel, name: str, source: int | None = None
    ) -> InteractionRecord:
        now = asyncio.get_running_loop().time()
        for old in [r for r in self.records.values() if now - r.created > TOKEN_LIFETIME]:
            del self.records[old.id]
            del self._tokens[old.token]
        if not self.gateway.sessions:
            raise TimeoutError("no bot is connected to the gateway")
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        record = InteractionRecord(self.world.ids.next(), token, kind, member.user.id, channel.id, name, now, source)
        self.records[record.id] = record
        self._tokens[token] = record
        return record

    def _payload(self, record: InteractionRecord, member: Member, channel: Channel) -> dict[str, Any]:
        world = self.world
        return {
            "id": str(record.id),
            "application_id": str(world.application_id),
            "type": record.type,
            "token": record.token,
            "version": 1,
            "guild_id": str(world.guild_id),
            "guild": {"id": str(world.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel_json(world, channel, permissions=world.permissions(member)),
            "member": member_json(world, member, permissions=True),
            "app_permissions": str(world.permissions(world.bot_member)),
            "locale": "en-US",
            "guild_locale": "en-US",
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
    ) -> dict[str, Any]:
        """Run a slash command as a member and return the bot's responses."""
        resolved = self.registry.find(command)
        member = self.world.member(member_ref)
        channel = self.world.channel(channel_ref)
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
        payload = self._payload(record, member, channel)
        payload["data"] = data
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return await self._collect(record, timeout)

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
                modal = {"modal": entry, "content": None, "embeds": [], "components": [], "ephemeral": True}
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

    # -- routes the bot answers on ---------------------------------------------------------------------

    def _by_id(self, interaction_id: str, token: str) -> InteractionRecord:
        record = self.records.get(int(interaction_id)) if interaction_id.isdigit() else None
        if record is None or not secrets.compare_digest(record.token, token):
            raise ApiError(404, 10062, "Unknown interaction")
        return record

    def _by_token(self, request: web.Request) -> InteractionRecord:
        webhook_id, token = request.match_info["webhook_id"], request.match_info["webhook_token"]
        record = self._tokens.get(token)
        if record is None or webhook_id != str(self.world.application_id) or record.callback_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        if asyncio.get_running_loop().time() - record.created > TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return record

    def _new_message(
        self, record: InteractionRecord, data: dict[str, Any], files: list[Any], *, initial: bool
    ) -> Message:
        world = self.world
        user = user_json(world.users[record.member_id])
        owners = {"0": str(world.guild_id)}
        metadata: dict[str, Any] = {"id": str(record.id), "type": record.type, "user": user}
        metadata["authorizing_integration_owners"] = owners
        legacy = None
        if record.type == APPLICATION_COMMAND:
            metadata.update(name=record.name, command_type=1)
            legacy = {"id": str(record.id), "type": record.type, "name": record.name, "user": user}
        else:
            metadata["interacted_message_id"] = str(record.source_message_id)
        message = Message(
            world.ids.next(),
            record.channel_id,
            world.bot_user_id,
            world.clock.now(),
            type=20 if initial and record.type == APPLICATION_COMMAND else 0,
            webhook_id=world.application_id,
            application_id=world.application_id,
            interaction_metadata=metadata,
            interaction=legacy,
        )
        message.flags = int(data.get("flags") or 0) & EPHEMERAL
        message_rules.apply(world, message, data, files, creating=True)
        world.store_message(message)
        return message

    async def callback(self, request: web.Request) -> web.Response:
        """``POST /interactions/{id}/{token}/callback``: the bot's initial response."""
        record = self._by_id(request.match_info["interaction_id"], request.match_info["interaction_token"])
        if record.callback_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() - record.created > self.callback_deadline:
            log.warning("interaction %s answered too late: Discord allows %.1f s", record.id, self.callback_deadline)
            raise ApiError(404, 10062, "Unknown interaction")
        body = payload_of(request) or {}
        kind, data, files = body.get("type"), body.get("data") or {}, files_of(request)
        if kind not in _ALLOWED_CALLBACKS[record.type]:
            raise form_error(
                "type", "BASE_TYPE_CHOICES", f"Value must be one of {sorted(_ALLOWED_CALLBACKS[record.type])}."
            )
        message = self._apply_callback(record, kind, data, files)
        record.callback_type = kind
        record.acked.set()
        record.changed.set()
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        world = self.world
        interaction: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "channel_id": str(record.channel_id),
            "guild_id": str(world.guild_id),
        }
        target = world.messages.get(record.original_id) if record.original_id else None
        if target is not None:
            interaction["response_message_id"] = str(target.id)
            interaction["response_message_loading"] = target.loading
            interaction["response_message_ephemeral"] = target.ephemeral
        reply: dict[str, Any] = {"interaction": interaction}
        if message is not None and kind in (4, 7):
            reply["resource"] = {"type": kind, "message": message_json(world, message)}
        return json_response(reply)

    def _apply_callback(
        self, record: InteractionRecord, kind: int, data: dict[str, Any], files: list[Any]
    ) -> Message | None:
        world = self.world
        if kind == 4:
            message_rules.validate(data, files, creating=True)
            message = self._new_message(record, data, files, initial=True)
            record.original_id = message.id
            record.record(message.id)
            self.gateway.message_event("MESSAGE_CREATE", message)
            return message
        if kind == 5:
            message = self._new_message(record, {"flags": data.get("flags")}, [], initial=True)
            message.flags |= LOADING
            record.original_id = message.id
            record.record(message.id, visible=False)
            self.gateway.message_event("MESSAGE_CREATE", message)
            return message
        if kind == 6:
            record.original_id = record.source_message_id
            return None
        if kind == 7:
            message = world.messages[record.source_message_id or 0]
            message_rules.validate(data, files, creating=False)
            message_rules.apply(world, message, data, files, creating=False)
            message.edited_timestamp = world.clock.now()
            record.original_id = message.id
            record.record(message.id)
            self.gateway.message_event("MESSAGE_UPDATE", message)
            return message
        if kind == 9:
            for key in ("custom_id", "title", "components"):
                if not data.get(key):
                    raise form_error(f"data.{key}", "BASE_TYPE_REQUIRED", "This field is required")
            record.record(dict(data))
            return None
        record.record({"autocomplete": data.get("choices", [])}, visible=True)
        return None

    async def followup(self, request: web.Request) -> web.Response:
        """``POST /webhooks/{app}/{token}``: a followup (the first one after a defer fills the placeholder)."""
        record = self._by_token(request)
        data, files = payload_of(request) or {}, files_of(request)
        message_rules.validate(data, files, creating=True)
        original = self.world.messages.get(record.original_id) if record.original_id else None
        if record.callback_type == 5 and original is not None and original.loading and not original.deleted:
            message_rules.apply(self.world, original, data, files, creating=False)
            message, event = original, "MESSAGE_UPDATE"
        else:
            message, event = self._new_message(record, data, files, initial=False), "MESSAGE_CREATE"
        record.record(message.id)
        self.gateway.message_event(event, message)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(message_json(self.world, message))
        return no_content()

    def _target(self, record: InteractionRecord, message_id: str) -> Message:
        wanted = record.original_id if message_id == "@original" else int(message_id) if message_id.isdigit() else None
        allowed = wanted is not None and (wanted == record.original_id or wanted in record.entries)
        message = self.world.messages.get(wanted) if allowed and wanted is not None else None
        if message is None or message.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /webhooks/{app}/{token}/messages/{id or @original}``."""
        record = self._by_token(request)
        message = self._target(record, request.match_info.get("message_id", "@original"))
        return json_response(message_json(self.world, message))

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /webhooks/{app}/{token}/messages/{id or @original}``."""
        record = self._by_token(request)
        message = self._target(record, request.match_info.get("message_id", "@original"))
        data, files = payload_of(request) or {}, files_of(request)
        message_rules.validate(data, files, creating=False)
        was_loading = message.loading
        message_rules.apply(self.world, message, data, files, creating=False)
        if not was_loading:
            message.edited_timestamp = self.world.clock.now()
        record.record(message.id)
        self.gateway.message_event("MESSAGE_UPDATE", message)
        return json_response(message_json(self.world, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/{app}/{token}/messages/{id or @original}``."""
        record = self._by_token(request)
        message = self._target(record, request.match_info.get("message_id", "@original"))
        message.deleted = True
        record.changed.set()
        self.gateway.message_event("MESSAGE_DELETE", message)
        return no_content()


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
