"""The routes a bot answers interactions on: callback, followups, and the original and followup messages."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.sandbox.discord import messages as message_rules
from bot.sandbox.discord.gateway import Gateway
from bot.sandbox.discord.menus import validate_modal
from bot.sandbox.discord.payloads import message_json, user_json
from bot.sandbox.discord.rest import ApiError, files_of, form_error, json_response, no_content, payload_of
from bot.sandbox.discord.world import EPHEMERAL, LOADING, Message, World

log = logging.getLogger(__name__)

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
#: An interaction token is valid for 15 minutes of sandbox time (then 401, 50027).
TOKEN_LIFETIME = timedelta(minutes=15)
_ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
_MAX_CHOICES, _MAX_CHOICE_TEXT = 25, 100


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
    created_at: datetime
    source_message_id: int | None = None
    locale: str = "en-US"  # the member's client language, as the interaction carried it
    callback_type: int | None = None
    original_id: int | None = None
    entries: list[int | dict[str, Any]] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)
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


class Answers:
    """The bot-facing interaction routes; :class:`Interactions` adds creating interactions for the control API."""

    world: World
    gateway: Gateway
    records: dict[int, InteractionRecord]
    _tokens: dict[str, InteractionRecord]
    _expired: OrderedDict[str, None]
    callback_deadline: float

    def _by_id(self, interaction_id: str, token: str) -> InteractionRecord:
        record = self.records.get(int(interaction_id)) if interaction_id.isdigit() else None
        if record is None or not secrets.compare_digest(record.token, token):
            raise ApiError(404, 10062, "Unknown interaction")
        return record

    def _by_token(self, request: web.Request) -> InteractionRecord:
        webhook_id, token = request.match_info["webhook_id"], request.match_info["webhook_token"]
        record = self._tokens.get(token)
        expired = token in self._expired or (
            record is not None and self.world.clock.now() - record.created_at > TOKEN_LIFETIME
        )
        if expired and webhook_id == str(self.world.application_id):
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if record is None or webhook_id != str(self.world.application_id) or record.callback_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
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
        elif record.source_message_id is not None:
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
        from_message = record.type != MODAL_SUBMIT or record.source_message_id is not None
        if kind not in _ALLOWED_CALLBACKS[record.type] or (kind in (6, 7) and not from_message):
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
            validate_modal(data)
            record.record(dict(data))
            return None
        record.choices = _checked_choices(data.get("choices"))
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


def _checked_choices(choices: Any) -> list[dict[str, Any]]:
    """Refuse autocomplete answers Discord refuses: over 25 choices, names or values over 100 characters."""
    listed = list(choices or [])
    if len(listed) > _MAX_CHOICES:
        raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {_MAX_CHOICES} or fewer in length.")
    for index, choice in enumerate(listed):
        for key in ("name", "value"):
            value = choice.get(key)
            if value is None or (isinstance(value, str) and not 1 <= len(value) <= _MAX_CHOICE_TEXT):
                path = f"data.choices.{index}.{key}"
                raise form_error(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {_MAX_CHOICE_TEXT} in length.")
    return listed
