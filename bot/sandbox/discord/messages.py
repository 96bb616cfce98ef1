"""Turn message create/edit bodies into stored messages, with Discord's validation and mention rules."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.discord import validate as rules
from bot.sandbox.discord.payloads import ATTACHMENT_SIZE_LIMIT
from bot.sandbox.discord.rest import ApiError, UploadedFile
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


def validate(payload: dict[str, Any], files: list[UploadedFile], *, creating: bool) -> None:
    """Reject bodies Discord rejects: over a limit, malformed, badly laid out, oversized files, empty."""
    rules.check_body(payload, files)
    for upload in files:
        if len(upload.data) > ATTACHMENT_SIZE_LIMIT:
            raise ApiError(413, 40005, "Request entity too large")
    content, embeds = payload.get("content"), payload.get("embeds")
    if creating and not (content or embeds or files or payload.get("components") or payload.get("sticker_ids")):
        raise ApiError(400, 50006, "Cannot send an empty message")


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
    mentions(world, message)


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


def mentions(world: World, message: Message) -> None:
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
