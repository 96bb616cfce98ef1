"""Plain descriptions of what Vestry posts, so services decide without importing discord.

Embeds use Discord's JSON embed shape (title, description, url, color, fields, thumbnail, footer, timestamp).
Mentions are off unless listed: no post ever pings @everyone, @here or a role by accident.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ButtonStyle = Literal["primary", "secondary", "success", "danger", "link"]


@dataclass(frozen=True)
class Button:
    """A button under a message: either a ``custom_id`` handled by a cog, or a ``url`` to open."""

    label: str
    custom_id: str | None = None
    url: str | None = None
    style: ButtonStyle = "secondary"
    disabled: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class OutMessage:
    """A message to post: text, embeds, buttons, files, and exactly who it may mention."""

    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    buttons: tuple[Button, ...] = ()
    files: tuple[Attachment, ...] = ()
    mention_users: tuple[int, ...] = ()
    mention_roles: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Serialise for the outbox."""
        data = asdict(self)
        data["files"] = [
            {"filename": f.filename, "content_type": f.content_type, "data": base64.b64encode(f.data).decode()}
            for f in self.files
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutMessage:
        """Rebuild from the outbox's JSON."""
        return cls(
            content=data.get("content", ""),
            embeds=tuple(data.get("embeds", ())),
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            files=tuple(
                Attachment(
                    f["filename"], base64.b64decode(f["data"]), f.get("content_type", "application/octet-stream")
                )
                for f in data.get("files", ())
            ),
            mention_users=tuple(data.get("mention_users", ())),
            mention_roles=tuple(data.get("mention_roles", ())),
        )


# Bidi controls reorder what a reader sees ("\u202eexe.txt" shows as "txt.exe"); zero-width characters hide text
# inside text ("dev\u200b42" looks like dev42). Neither has a place in a post, so third-party text loses them.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u180e\ufeff")
_ZWJ = "\u200d"


def clean_text(text: str) -> str:
    """Drop bidi controls and zero-width characters (a joiner inside an emoji sequence such as 👩‍💻 stays)."""
    out = []
    for index, char in enumerate(text):
        if char in BIDI_CONTROLS:
            continue
        if char in ZERO_WIDTH:
            if char == _ZWJ and _emoji_join(text, index):
                out.append(char)
            continue
        out.append(char)
    return "".join(out)


def _emoji_join(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return _emoji(before) and _emoji(after)


def _emoji(char: str) -> bool:
    return bool(char) and (unicodedata.category(char) == "So" or char == "\ufe0f" or 0x1F3FB <= ord(char) <= 0x1F3FF)


def escape_markdown(text: str) -> str:
    """Neutralise Discord markdown and mentions in text that came from users or GitHub (hidden characters dropped)."""
    out = []
    for char in clean_text(text):
        if char in "\\*_~`|>#[]()-":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out).replace("@", "@\u200b")


def mention(discord_id: int) -> str:
    """Return the mention syntax for a member."""
    return f"<@{discord_id}>"


def role_mention(role_id: int) -> str:
    """Return the mention syntax for a role."""
    return f"<@&{role_id}>"


@dataclass
class Reply:
    """An answer to a slash command or button: shown to the caller only unless ``ephemeral`` is false."""

    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    ephemeral: bool = True
