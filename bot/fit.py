"""Discord's message limits, in one place: every post, reply and edit passes through :func:`fit_message`.

Services build messages freely; this module makes them acceptable to Discord by construction (content, embeds,
fields, the 6000-character total, rows of buttons, labels, custom ids, URLs), cutting text with an ellipsis and
dropping only what cannot be cut (a button whose id is too long is a bug: it is logged and left out, so the rest
of the message is still delivered).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from bot.messages import Button, OutMessage, Reply

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_FIELDS = 25
MAX_BUTTONS = 25  # five rows of five
MAX_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_URL = 512
MAX_FILES = 10
MAX_CHOICES = 25
MAX_CHOICE_TEXT = 100
_EMBED_TEXT = {"title": 256, "description": 4096}
_FIELD_TEXT = {"name": 256, "value": 1024}
_ELLIPSIS = "…"

M = TypeVar("M", OutMessage, Reply)


def cut(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + _ELLIPSIS


def fit_content(text: str) -> str:
    """Fit a message's text into Discord's 2000 characters."""
    return cut(text, MAX_CONTENT)


def _good_url(value: object, limit: int = 2048) -> bool:
    if not isinstance(value, str) or len(value) > limit or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _good_timestamp(value: object) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _embed_size(embed: dict[str, Any]) -> int:
    size = sum(len(str(embed.get(key) or "")) for key in _EMBED_TEXT)
    size += sum(len(str(f.get("name") or "")) + len(str(f.get("value") or "")) for f in embed.get("fields") or [])
    size += len(str((embed.get("footer") or {}).get("text") or ""))
    return size + len(str((embed.get("author") or {}).get("name") or ""))


def fit_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """Fit one embed: text limits, at most 25 non-empty fields, a valid colour and well-formed URLs."""
    fitted = dict(embed)
    for key, limit in _EMBED_TEXT.items():
        if fitted.get(key) is not None:
            fitted[key] = cut(str(fitted[key]), limit)
    fields = [f for f in fitted.get("fields") or [] if str(f.get("name") or "") and str(f.get("value") or "")]
    if fields or "fields" in fitted:
        fitted["fields"] = [{**f, **{k: cut(str(f[k]), n) for k, n in _FIELD_TEXT.items()}} for f in fields][
            :MAX_FIELDS
        ]
    if isinstance(fitted.get("footer"), dict) and fitted["footer"].get("text") is not None:
        fitted["footer"] = {**fitted["footer"], "text": cut(str(fitted["footer"]["text"]), 2048)}
    if isinstance(fitted.get("author"), dict) and fitted["author"].get("name") is not None:
        fitted["author"] = {**fitted["author"], "name": cut(str(fitted["author"]["name"]), 256)}
    color = fitted.get("color")
    if color is not None and (isinstance(color, bool) or not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        del fitted["color"]
    if "url" in fitted and not _good_url(fitted["url"]):
        del fitted["url"]
    if "timestamp" in fitted and not _good_timestamp(fitted["timestamp"]):
        del fitted["timestamp"]
    for key in ("image", "thumbnail"):
        if isinstance(fitted.get(key), dict) and not _good_url(fitted[key].get("url")):
            del fitted[key]
    return fitted


def fit_embeds(embeds: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Fit a message's embeds: at most 10, each within its limits, all together within 6000 characters."""
    fitted = [fit_embed(e) for e in list(embeds)[:MAX_EMBEDS]]
    total = sum(_embed_size(e) for e in fitted)
    for embed in reversed(fitted):  # the first embed is the one readers look at; shorten the later ones first
        if total <= MAX_EMBED_TOTAL:
            break
        while embed.get("fields") and total > MAX_EMBED_TOTAL:
            dropped = embed["fields"].pop()
            total -= len(str(dropped.get("name") or "")) + len(str(dropped.get("value") or ""))
        description = str(embed.get("description") or "")
        if total > MAX_EMBED_TOTAL and description:
            keep = max(len(description) - (total - MAX_EMBED_TOTAL), 0)
            embed["description"] = cut(description, keep) if keep else _ELLIPSIS
            total -= len(description) - len(embed["description"])
    if total > MAX_EMBED_TOTAL:  # titles and footers alone are over: keep what fits, whole embeds at a time
        kept, size = [], 0
        for embed in fitted:
            if size + _embed_size(embed) <= MAX_EMBED_TOTAL:
                kept.append(embed)
                size += _embed_size(embed)
        fitted = kept
    return fitted


def fit_buttons(buttons: list[Button] | tuple[Button, ...]) -> list[Button]:
    """Keep at most 25 buttons with unique, short ids or valid link URLs, and labels of at most 80 characters."""
    kept: list[Button] = []
    seen: set[str] = set()
    for button in buttons:
        if button.url is not None:
            ok = button.custom_id is None and _good_url(button.url, MAX_URL)
        else:
            ok = (
                bool(button.custom_id) and len(button.custom_id or "") <= MAX_CUSTOM_ID and button.custom_id not in seen
            )
        if not ok:
            log.error(
                "left out a button Discord would refuse: %r (id %r, url %r)", button.label, button.custom_id, button.url
            )
            continue
        if button.custom_id:
            seen.add(button.custom_id)
        kept.append(replace(button, label=cut(button.label, MAX_LABEL)))
    if len(kept) > MAX_BUTTONS:
        log.error("left out %d buttons over Discord's %d", len(kept) - MAX_BUTTONS, MAX_BUTTONS)
    return kept[:MAX_BUTTONS]


def fit_message(message: M) -> M:
    """Return the message (an OutMessage or a Reply) fitted into every Discord limit."""
    if isinstance(message, OutMessage):
        return replace(
            message,
            content=fit_content(message.content),
            embeds=tuple(fit_embeds(message.embeds)),
            buttons=tuple(fit_buttons(message.buttons)),
            files=message.files[:MAX_FILES],
            mention_users=message.mention_users[:100],
            mention_roles=message.mention_roles[:100],
        )
    return replace(
        message,
        content=fit_content(message.content),
        embeds=fit_embeds(message.embeds),
        buttons=fit_buttons(message.buttons),
        files=message.files[:MAX_FILES],
    )


def fit_choices(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Fit autocomplete choices: at most 25, each name and value 1–100 characters (over-long values dropped)."""
    fitted = [(cut(name, MAX_CHOICE_TEXT), value) for name, value in choices if name and 0 < len(value) <= 100]
    return fitted[:MAX_CHOICES]
