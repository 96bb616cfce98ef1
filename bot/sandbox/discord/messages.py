"""Turn message create/edit bodies into stored messages, with Discord's validation and mention rules."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.discord.payloads import ATTACHMENT_SIZE_LIMIT
from bot.sandbox.discord.rest import ApiError, UploadedFile, form_error
from bot.sandbox.discord.world import (
    EPHEMERAL,
    LOADING,
    MENTION_EVERYONE,
    SUPPRESS_EMBEDS,
    Attachment,
    Message,
    World,
)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EMBED_LIMITS = {"title": 256, "description": 4096}


def validate(payload: dict[str, Any], files: list[UploadedFile], *, creating: bool) -> None:
    """Reject bodies Discord rejects: too long, too many embeds, empty, duplicated custom ids."""
    content = payload.get("content")
    if content is not None and len(str(content)) > 2000:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            value = embed.get(key) or ""
            total += len(value)
            if len(value) > limit:
                raise form_error(
                    f"embeds.{index}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise form_error(f"embeds.{index}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for f_index, item in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = str(item.get(key) or "")
                total += len(value)
                if not value or len(value) > limit:
                    path = f"embeds.{index}.fields.{f_index}.{key}"
                    raise form_error(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length.")
        total += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    if total > 6000:
        raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    _check_custom_ids(payload.get("components") or [])
    for upload in files:
        if len(upload.data) > ATTACHMENT_SIZE_LIMIT:
            raise ApiError(413, 40005, "Request entity too large")
    if creating and not (content or embeds or files or payload.get("components") or payload.get("sticker_ids")):
        raise ApiError(400, 50006, "Cannot send an empty message")


def _check_custom_ids(components: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    stack = list(components)
    while stack:
        item = stack.pop()
        custom_id = item.get("custom_id")
        if custom_id is not None:
            if custom_id in seen:
                raise form_error(
                    "components", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
                )
            seen.add(custom_id)
        stack.extend(c for c in item.get("components") or [] if isinstance(c, dict))


def normalise_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """Store an embed as Discord returns it: no nulls, a ``type``, ``inline`` on every field."""
    clean = {k: v for k, v in embed.items() if v is not None}
    clean.setdefault("type", "rich")
    if "fields" in clean:
        clean["fields"] = [{"inline": False, **{k: v for k, v in f.items() if v is not None}} for f in clean["fields"]]
    return clean


def apply(
    world: World, message: Message, payload: dict[str, Any], files: list[UploadedFile], *, creating: bool
) -> None:
    """Write a create or edit body onto a message (fields left out of an edit stay as they were)."""
    if creating or "content" in payload:
        message.content = str(payload.get("content") or "")
    if creating or "embeds" in payload:
        message.embeds = [normalise_embed(e) for e in payload.get("embeds") or []]
    if creating or "components" in payload:
        message.components = list(payload.get("components") or [])
    if creating or "allowed_mentions" in payload:
        message.allowed_mentions = payload.get("allowed_mentions")
    if creating:
        message.tts = bool(payload.get("tts"))
        message.nonce = payload.get("nonce")
        message.flags |= int(payload.get("flags") or 0) & (EPHEMERAL | SUPPRESS_EMBEDS)
    elif "flags" in payload:
        wanted = int(payload.get("flags") or 0)
        message.flags = (message.flags & ~SUPPRESS_EMBEDS) | (wanted & SUPPRESS_EMBEDS)
    if not creating and message.loading:
        message.flags &= ~LOADING
    message.attachments = _attachments(world, message, payload, files)
    _mentions(world, message)


def _attachments(
    world: World, message: Message, payload: dict[str, Any], files: list[UploadedFile]
) -> list[Attachment]:
    """Keep the existing attachments an edit lists (all, if it lists none) and add the uploaded files."""
    declared = payload.get("attachments")
    if declared is None:
        kept = list(message.attachments)
        descriptions: dict[int, str | None] = {}
    else:
        listed = {str(a.get("id")) for a in declared if isinstance(a, dict)}
        kept = [a for a in message.attachments if str(a.id) in listed]
        descriptions = {
            int(a["id"]): a.get("description")
            for a in declared
            if isinstance(a, dict) and str(a.get("id", "")).isdigit() and int(a["id"]) < 10
        }
    for index, upload in enumerate(files):
        number = int(upload.field[6:-1]) if upload.field.startswith("files[") else index
        attachment = Attachment(
            world.ids.next(),
            upload.filename,
            upload.content_type,
            upload.data,
            descriptions.get(number),
            ephemeral=message.ephemeral,
        )
        world.uploads[attachment.id] = attachment
        kept.append(attachment)
    return kept


def _mentions(world: World, message: Message) -> None:
    """Resolve mentions in the content as Discord does, honouring ``allowed_mentions``."""
    allowed = message.allowed_mentions
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    users = set() if allowed is None else {str(u) for u in allowed.get("users") or []}
    roles = set() if allowed is None else {str(r) for r in allowed.get("roles") or []}
    content = message.content
    message.mentions = [
        int(u)
        for u in dict.fromkeys(_USER_MENTION.findall(content))
        if int(u) in world.users and ("users" in parse or u in users)
    ]
    author = world.members.get(message.author_id)
    can_ping_all = author is not None and bool(world.permissions(author) & MENTION_EVERYONE)
    message.mention_roles = [
        int(r)
        for r in dict.fromkeys(_ROLE_MENTION.findall(content))
        if int(r) in world.roles
        and ("roles" in parse or r in roles)
        and (world.roles[int(r)].mentionable or can_ping_all)
    ]
    message.mention_everyone = "everyone" in parse and can_ping_all and ("@everyone" in content or "@here" in content)
