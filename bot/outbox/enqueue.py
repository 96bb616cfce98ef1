"""Writing side effects into the outbox, inside the caller's transaction, each in its lane with its own nonce."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.db import Database
from bot.db.commits import OUTBOX, wrote
from bot.messages import OutMessage
from bot.outbox.model import POST_KINDS, Kind, lane_for
from bot.timeutil import iso


def new_nonce() -> str:
    """A random nonce (Discord allows 25 characters): unique across restores and resets, unlike a row id."""
    return "v" + secrets.token_hex(10)


async def enqueue(
    conn: aiosqlite.Connection,
    dedupe_key: str,
    kind: Kind,
    payload: dict[str, Any],
    *,
    now: datetime,
    not_before: datetime | None = None,
    lane: str | None = None,
    answering: bool = False,
) -> bool:
    """Add a side effect inside the caller's transaction; return False when the key was seen before.

    ``answering`` marks a post that an interaction answer is about to make: if that answer fails the outbox posts
    it, and after a crash it first looks whether the answer got through.
    """
    wrote(OUTBOX)
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO outbox(dedupe_key, kind, payload, created_at, not_before, lane, nonce, sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            dedupe_key,
            kind,
            json.dumps(payload),
            iso(now),
            iso(not_before or now),
            lane or lane_for(kind, payload),
            new_nonce() if kind in POST_KINDS else None,
            iso(now) if answering else None,
        ),
    )
    return cursor.rowcount == 1


async def enqueue_message(
    conn: aiosqlite.Connection,
    dedupe_key: str,
    channel_id: int,
    message: OutMessage,
    *,
    now: datetime,
    answering: bool = False,
) -> bool:
    """Queue a channel post."""
    payload = {"channel_id": channel_id, "message": message.to_json()}
    return await enqueue(conn, dedupe_key, "message", payload, now=now, answering=answering)


async def enqueue_dm(
    conn: aiosqlite.Connection, dedupe_key: str, user_id: int, message: OutMessage, *, now: datetime
) -> bool:
    """Queue a direct message."""
    return await enqueue(conn, dedupe_key, "dm", {"user_id": user_id, "message": message.to_json()}, now=now)


async def enqueue_role(
    conn: aiosqlite.Connection,
    dedupe_key: str,
    *,
    add: bool,
    guild_id: int,
    user_id: int,
    role_id: int,
    reason: str,
    now: datetime,
) -> bool:
    """Queue a role grant or removal."""
    payload = {"guild_id": guild_id, "user_id": user_id, "role_id": role_id, "reason": reason}
    return await enqueue(conn, dedupe_key, "role_add" if add else "role_remove", payload, now=now)


async def enqueue_reaction(
    conn: aiosqlite.Connection,
    dedupe_key: str,
    *,
    add: bool,
    channel_id: int,
    message_id: int,
    emoji: str,
    now: datetime,
) -> bool:
    """Queue the bot's own reaction on a message (a quiet acknowledgement), or its removal."""
    payload = {"channel_id": channel_id, "message_id": message_id, "emoji": emoji}
    return await enqueue(conn, dedupe_key, "reaction_add" if add else "reaction_remove", payload, now=now)


async def enqueue_edit(
    conn: aiosqlite.Connection, dedupe_key: str, *, target_key: str, message: OutMessage, now: datetime
) -> bool:
    """Queue an edit of the message an earlier row (``target_key``) posted, in that row's lane (after it)."""
    cursor = await conn.execute("SELECT lane FROM outbox WHERE dedupe_key = ?", (target_key,))
    target = await cursor.fetchone()
    payload = {"target_key": target_key, "message": message.to_json()}
    lane = str(target[0]) if target is not None and target[0] else "other"
    return await enqueue(conn, dedupe_key, "message_edit", payload, now=now, lane=lane)


@dataclass(frozen=True)
class PostedMessage:
    """Where an outbox row's message landed."""

    channel_id: int
    message_id: int


async def posted_message(db: Database, dedupe_key: str) -> PostedMessage | None:
    """Find the message an outbox row posted, once it is done."""
    row = await db.fetchone("SELECT result FROM outbox WHERE dedupe_key = ? AND done_at IS NOT NULL", (dedupe_key,))
    if row is None or not row["result"]:
        return None
    data = json.loads(row["result"])
    if not data.get("message_id"):
        return None
    return PostedMessage(int(data["channel_id"]), int(data["message_id"]))
