"""Plain descriptions of what Vestry posts, so services decide without importing discord.

Embeds use Discord's JSON embed shape (title, description, url, color, fields, thumbnail, footer, timestamp).
Mentions are off unless listed: no post ever pings @everyone, @here or a role by accident.
"""

from __future__ import annotations

import base64
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


def escape_markdown(text: str) -> str:
    """Neutralise Discord markdown and mentions in text that came from users or GitHub."""
    out = []
    for char in text:
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
