"""Pace celebrations to the kudos channel: while its posts queue up, hold new ones and combine them later.

Discord lets a bot post about 5 messages per 5 s in one channel. A burst of first-time merges (a release day, a
hackathon) would otherwise queue one post each and take minutes to drain, one a second. When the channel's posts
are backed up — at least ``burst_size`` of them waiting, the oldest for ``BACKED_UP_AGE`` or more — new
celebrations are held (in the ``state`` table, in the same transaction that decided them, so a restart loses
none) and released together, as combined posts, once the channel has drained. The outbox itself is untouched:
what is queued is posted exactly as queued.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import aiosqlite

from bot.services.recognition.models import Celebration
from bot.timeutil import iso

BACKED_UP_AGE = timedelta(seconds=1)
# Discord lets a bot post about this many messages per window in one channel; more queued within it must wait.
CHANNEL_POSTS, CHANNEL_WINDOW = 5, timedelta(seconds=5)
_RECENT_ROWS = 200  # how far back (outbox rows, newest first) to look for the channel's recent posts
RELEASE_EVERY = 1.0  # seconds between looks at the channel while celebrations are held


def held_key(guild_id: int) -> str:
    """The ``state`` key of a guild's held celebrations."""
    return f"kudos:held:{guild_id}"


async def backed_up(conn: aiosqlite.Connection, channel_id: int, now: datetime, threshold: int) -> bool:
    """Say whether at least ``threshold`` posts wait for the channel and Discord will make the next one wait too.

    It will when the oldest has waited ``BACKED_UP_AGE`` already, or when the channel's allowance for the current
    window (``CHANNEL_POSTS`` per ``CHANNEL_WINDOW``) is used up by what was queued within it.
    """
    cursor = await conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE done_at IS NULL AND kind = 'message' "
        "AND json_extract(payload, '$.channel_id') = ?",
        (channel_id,),
    )
    row = await cursor.fetchone()
    if row is None or int(row[0]) < threshold or row[1] is None:
        return False
    if str(row[1]) <= iso(now - BACKED_UP_AGE):
        return True
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM (SELECT kind, payload, created_at FROM outbox ORDER BY id DESC LIMIT ?) "
        "WHERE kind = 'message' AND json_extract(payload, '$.channel_id') = ? AND created_at >= ?",
        (_RECENT_ROWS, channel_id, iso(now - CHANNEL_WINDOW)),
    )
    recent = await cursor.fetchone()
    return recent is not None and int(recent[0]) >= CHANNEL_POSTS


async def held(conn: aiosqlite.Connection, guild_id: int) -> list[Celebration]:
    """Return the celebrations waiting for the channel, oldest first."""
    cursor = await conn.execute("SELECT value FROM state WHERE key = ?", (held_key(guild_id),))
    row = await cursor.fetchone()
    if row is None:
        return []
    return [Celebration.from_json(item) for item in json.loads(row[0])]


async def hold(conn: aiosqlite.Connection, guild_id: int, items: Sequence[Celebration]) -> None:
    """Replace the held celebrations with ``items`` (none: forget the list)."""
    if not items:
        await conn.execute("DELETE FROM state WHERE key = ?", (held_key(guild_id),))
        return
    await conn.execute(
        "INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (held_key(guild_id), json.dumps([item.to_json() for item in items], sort_keys=True)),
    )
