"""What the outbox holds and needs: kinds, lanes, failures, and the Discord capability the dispatcher uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.messages import OutMessage

Kind = Literal["message", "dm", "role_add", "role_remove", "message_edit", "reaction_add", "reaction_remove"]
POST_KINDS = ("message", "dm")


class TransientError(Exception):
    """Discord could not do it now (rate limit, 5xx, outage); try again later.

    ``maybe_sent`` says whether Discord may have done it anyway (a timeout or a dropped connection after the
    request went out, a 500): such a post is looked for before it is sent again.
    """

    def __init__(self, message: str, retry_after: float | None = None, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentError(Exception):
    """Discord refused for good (missing permission, unknown channel); retrying will not help."""


@dataclass(frozen=True)
class SeenMessage:
    """A message read back from a channel, as much as the outbox needs to recognise its own post."""

    id: int
    author_id: int
    nonce: str | None
    content: str
    embeds: tuple[tuple[str, str], ...]


class DiscordSink(Protocol):
    """What the dispatcher needs from Discord."""

    async def send_message(self, channel_id: int, message: OutMessage, nonce: str) -> int: ...
    async def send_dm(self, user_id: int, message: OutMessage, nonce: str) -> int: ...
    async def edit_message(self, channel_id: int, message_id: int, message: OutMessage) -> None: ...
    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None: ...
    async def add_reaction(self, channel_id: int, message_id: int, emoji: str) -> None: ...
    async def remove_reaction(self, channel_id: int, message_id: int, emoji: str) -> None: ...
    async def remove_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None: ...
    async def recent_messages(self, channel_id: int | None, user_id: int | None, since: datetime) -> list[SeenMessage]:
        """Read a channel's (or a member's DM channel's) messages newer than ``since``, newest first."""
        ...

    def own_id(self) -> int:
        """The bot's own user id (the author of its posts)."""
        ...


def lane_for(kind: str, payload: dict[str, Any]) -> str:
    """Name the lane of a side effect: ``channel:<id>``, ``dm:<member>``, ``roles:<member>``, ``reactions:<msg>``."""
    if kind == "message":
        return f"channel:{int(payload['channel_id'])}"
    if kind == "dm":
        return f"dm:{int(payload['user_id'])}"
    if kind in ("role_add", "role_remove"):
        return f"roles:{int(payload['user_id'])}"
    if kind in ("reaction_add", "reaction_remove"):
        return f"reactions:{int(payload['message_id'])}"
    return "other"


def embed_keys(embeds: Any) -> tuple[tuple[str, str], ...]:
    """The parts of embeds that identify a post: each embed's title and description."""
    keys = []
    for embed in embeds or ():
        if isinstance(embed, dict):
            keys.append((str(embed.get("title") or ""), str(embed.get("description") or "")))
    return tuple(keys)


def find_posted(
    seen: list[SeenMessage], *, bot_id: int, nonce: str, message: OutMessage, claimed: set[int]
) -> int | None:
    """Find a row's own post among messages read back: by its nonce, else by the same text no other row claims.

    Discord echoes a nonce only on some reads, so a message without one that shows exactly the row's text and
    embeds (and is not already another row's post) is taken as this row's.
    """
    mine = [m for m in seen if m.author_id == bot_id]
    for found in mine:
        if found.nonce is not None and str(found.nonce) == nonce:
            return found.id
    wanted = (message.content.strip(), embed_keys(message.embeds))
    for found in sorted(mine, key=lambda m: m.id):
        if found.nonce in (None, "") and found.id not in claimed and (found.content.strip(), found.embeds) == wanted:
            return found.id
    return None
