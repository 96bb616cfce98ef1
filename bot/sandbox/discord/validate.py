"""Discord's rules for message bodies (content, embeds, components, mentions, files), as 50035 form errors."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.discord.rest import ApiError, UploadedFile, form_error

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_FILES = 10
MAX_NONCE = 25
MAX_EMBED_TOTAL = 6000
MAX_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_URL = 512
MAX_MENTION_IDS = 100
_EMBED_TEXT = {"title": 256, "description": 4096}
_EMBED_URLS = ("url", "image.url", "thumbnail.url", "author.url", "author.icon_url", "footer.icon_url")
_PARSE_VALUES = {"users", "roles", "everyone"}
_BUTTON, _ROW, _LINK = 2, 1, 5
_SELECTS = {3, 5, 6, 7, 8}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _too_long(path: str, limit: int) -> ApiError:
    return form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def check_body(payload: dict[str, Any], files: list[UploadedFile]) -> None:
    """Refuse what Discord refuses in a message create or edit body (the first problem found, by field)."""
    content = payload.get("content")
    if content is not None and len(str(content)) > MAX_CONTENT:
        raise _too_long("content", MAX_CONTENT)
    nonce = payload.get("nonce")
    if isinstance(nonce, str) and len(nonce) > MAX_NONCE:
        raise _too_long("nonce", MAX_NONCE)
    if len(files) > MAX_FILES:
        raise form_error("files", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FILES} or fewer in length.")
    if len(payload.get("attachments") or []) > MAX_FILES:
        raise _too_long("attachments", MAX_FILES)
    check_embeds(payload.get("embeds") or [])
    check_allowed_mentions(payload.get("allowed_mentions"))
    check_components(payload.get("components") or [])


def check_embeds(embeds: list[Any]) -> None:
    """Refuse embeds over Discord's limits, with malformed colours, URLs or timestamps."""
    if len(embeds) > MAX_EMBEDS:
        raise _too_long("embeds", MAX_EMBEDS)
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            raise form_error(f"embeds.{index}", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        total += _embed_text(index, embed)
        _embed_format(index, embed)
    if total > MAX_EMBED_TOTAL:
        raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}")


def _embed_text(index: int, embed: dict[str, Any]) -> int:
    """Check the text limits of one embed; return the characters it counts towards the 6000."""
    total = 0
    for key, limit in _EMBED_TEXT.items():
        value = str(embed.get(key) or "")
        total += len(value)
        if len(value) > limit:
            raise _too_long(f"embeds.{index}.{key}", limit)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise _too_long(f"embeds.{index}.fields", 25)
    for f_index, item in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            value = str(item.get(key) or "")
            total += len(value)
            if not value or len(value) > limit:
                path = f"embeds.{index}.fields.{f_index}.{key}"
                raise form_error(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length.")
    for key, limit in (("footer", 2048), ("author", 256)):
        part = embed.get(key) or {}
        text = str(part.get("text" if key == "footer" else "name") or "")
        total += len(text)
        if len(text) > limit:
            raise _too_long(f"embeds.{index}.{key}.{'text' if key == 'footer' else 'name'}", limit)
    return total


def _embed_format(index: int, embed: dict[str, Any]) -> None:
    """Check an embed's colour, URLs and timestamp."""
    color = embed.get("color")
    if color is not None and (isinstance(color, bool) or not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        raise form_error(f"embeds.{index}.color", "NUMBER_TYPE_MAX", "int value should be <= 16777215.")
    for dotted in _EMBED_URLS:
        value: Any = embed
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not _good_url(str(value), attachments=dotted != "url"):
            raise form_error(f"embeds.{index}.{dotted}", "URL_TYPE_INVALID_URL", "Not a well formed URL.")
    stamp = embed.get("timestamp")
    if stamp is not None and not _good_timestamp(stamp):
        raise form_error(f"embeds.{index}.timestamp", "DATE_TIME_TYPE_PARSE", f"Could not parse {stamp}.")


def _good_url(value: str, *, attachments: bool) -> bool:
    if attachments and value.startswith("attachment://") and len(value) > len("attachment://"):
        return True
    if len(value) > 2048 or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _good_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or not _ISO.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check_allowed_mentions(allowed: Any) -> None:
    """Refuse unknown ``parse`` values, a type both parsed and listed, and lists over 100 ids."""
    if allowed is None:
        return
    parse = allowed.get("parse") or []
    for index, value in enumerate(parse):
        if value not in _PARSE_VALUES:
            raise form_error(
                f"allowed_mentions.parse.{index}", "BASE_TYPE_CHOICES", f"Value must be one of {sorted(_PARSE_VALUES)}."
            )
    for kind in ("users", "roles"):
        listed = allowed.get(kind) or []
        if len(listed) > MAX_MENTION_IDS:
            raise _too_long(f"allowed_mentions.{kind}", MAX_MENTION_IDS)
        if listed and kind in parse:
            raise form_error(
                "allowed_mentions",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def check_components(components: list[Any]) -> None:
    """Refuse layouts Discord refuses: > 5 rows, > 5 buttons a row, loose buttons, bad ids, labels or URLs."""
    if len(components) > MAX_ROWS:
        raise _too_long("components", MAX_ROWS)
    seen: set[str] = set()
    for r_index, row in enumerate(components):
        where = f"components.{r_index}"
        if not isinstance(row, dict) or row.get("type") != _ROW:
            raise form_error(where, "COMPONENT_LAYOUT_INVALID", "Only action rows may be placed at the top level.")
        items = row.get("components") or []
        if not items:
            raise form_error(f"{where}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        if len(items) > MAX_ROW_ITEMS or (len(items) > 1 and any(i.get("type") in _SELECTS for i in items)):
            raise form_error(f"{where}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The layout is too wide.")
        for i_index, item in enumerate(items):
            _check_item(f"{where}.components.{i_index}", item, seen)


def _check_item(where: str, item: dict[str, Any], seen: set[str]) -> None:
    kind = item.get("type")
    if kind == _ROW:
        raise form_error(where, "COMPONENT_LAYOUT_INVALID", "Action rows cannot be nested.")
    if kind == _BUTTON and len(str(item.get("label") or "")) > MAX_LABEL:
        raise _too_long(f"{where}.label", MAX_LABEL)
    custom_id, url = item.get("custom_id"), item.get("url")
    if kind == _BUTTON and item.get("style") == _LINK:
        if not url or custom_id is not None:
            raise form_error(where, "BUTTON_COMPONENT_URL_REQUIRED", "A link button needs a url and no custom_id.")
        if len(str(url)) > MAX_URL or not _good_url(str(url), attachments=False):
            raise form_error(f"{where}.url", "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        return
    if url is not None:
        raise form_error(f"{where}.url", "BUTTON_COMPONENT_INVALID_URL", "Only link buttons may have a url.")
    if custom_id is None or not 1 <= len(str(custom_id)) <= MAX_CUSTOM_ID:
        raise form_error(
            f"{where}.custom_id", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length."
        )
    if custom_id in seen:
        raise form_error(
            f"{where}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
        )
    seen.add(str(custom_id))
