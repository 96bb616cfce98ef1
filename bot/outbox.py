"""The outbox: every Discord side effect caused by GitHub activity, posted once, in order, with retries.

Services write rows inside their transaction (``enqueue``); the ``Dispatcher`` performs them through a
``DiscordSink`` and records the result. A message carries a nonce derived from its row, which Discord uses to
drop a duplicate if the process dies between posting and recording.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import aiosqlite

from bot.clock import Clock
from bot.db import Database
from bot.messages import OutMessage
from bot.timeutil import iso

log = logging.getLogger(__name__)

Kind = Literal["message", "dm", "role_add", "role_remove", "message_edit"]


class TransientError(Exception):
    """Discord could not do it now (rate limit, 5xx, outage); try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Discord refused for good (missing permission, unknown channel); retrying will not help."""


class DiscordSink(Protocol):
    """What the dispatcher needs from Discord."""

    async def send_message(self, channel_id: int, message: OutMessage, nonce: str) -> int: ...
    async def send_dm(self, user_id: int, message: OutMessage, nonce: str) -> int: ...
    async def edit_message(self, channel_id: int, message_id: int, message: OutMessage) -> None: ...
    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None: ...
    async def remove_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None: ...


async def enqueue(
    conn: aiosqlite.Connection,
    dedupe_key: str,
    kind: Kind,
    payload: dict[str, Any],
    *,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Add a side effect inside the caller's transaction; return False when the key was seen before."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO outbox(dedupe_key, kind, payload, created_at, not_before) VALUES (?, ?, ?, ?, ?)",
        (dedupe_key, kind, json.dumps(payload), iso(now), iso(not_before or now)),
    )
    return cursor.rowcount == 1


async def enqueue_message(
    conn: aiosqlite.Connection, dedupe_key: str, channel_id: int, message: OutMessage, *, now: datetime
) -> bool:
    """Queue a channel post."""
    return await enqueue(conn, dedupe_key, "message", {"channel_id": channel_id, "message": message.to_json()}, now=now)


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


async def enqueue_edit(
    conn: aiosqlite.Connection, dedupe_key: str, *, target_key: str, message: OutMessage, now: datetime
) -> bool:
    """Queue an edit of the message an earlier row (``target_key``) posted."""
    return await enqueue(
        conn, dedupe_key, "message_edit", {"target_key": target_key, "message": message.to_json()}, now=now
    )


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
    if "message_id" not in data:
        return None
    return PostedMessage(int(data["channel_id"]), int(data["message_id"]))


class Dispatcher:
    """Perform outbox rows in order; back off on transient failures; never post a row twice."""

    MAX_ATTEMPTS = 12

    def __init__(self, db: Database, clock: Clock, sink: DiscordSink, poll_interval: float = 2.0) -> None:
        self._db = db
        self._clock = clock
        self._sink = sink
        self._poll = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    async def start(self) -> None:
        """Start the background loop."""
        self._task = asyncio.create_task(self._run(), name="vestry-outbox")

    async def stop(self) -> None:
        """Stop the loop; undone rows stay for the next start."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def depth(self) -> tuple[int, float]:
        """Return how many rows wait and the age in seconds of the oldest."""
        row = await self._db.fetchone("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE done_at IS NULL")
        count = int(row[0]) if row else 0
        if not count or row is None:
            return 0, 0.0
        from bot.timeutil import parse_iso

        oldest = parse_iso(row[1])
        return count, (self._clock.now() - oldest).total_seconds() if oldest else 0.0

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox dispatcher failed; retrying")
                delay = self._poll
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> float:
        """Perform every due row; return how long to wait before looking again."""
        while True:
            now = self._clock.now()
            row = await self._db.fetchone(
                "SELECT id, dedupe_key, kind, payload, attempts, not_before FROM outbox WHERE done_at IS NULL "
                "ORDER BY id LIMIT 1"
            )
            if row is None:
                return self._poll
            if row["not_before"] > iso(now):
                from bot.timeutil import parse_iso

                wait = ((parse_iso(row["not_before"]) or now) - now).total_seconds()
                return max(0.05, min(wait, self._poll))
            await self._perform(row, now)

    async def _perform(self, row: aiosqlite.Row, now: datetime) -> None:
        payload = json.loads(row["payload"])
        try:
            result = await self._do(row["kind"], payload, nonce=f"v{row['id']}")
        except TransientError as exc:
            attempts = row["attempts"] + 1
            backoff = (
                exc.retry_after if exc.retry_after else min(300.0, 2 ** min(attempts, 8)) * (0.5 + random.random())
            )
            if attempts >= self.MAX_ATTEMPTS:
                log.error("outbox row %s (%s) gave up after %d attempts: %s", row["id"], row["kind"], attempts, exc)
            log.warning("outbox row %s (%s) will retry in %.1fs: %s", row["id"], row["kind"], backoff, exc)
            await self._db.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, not_before = ? WHERE id = ?",
                (attempts, str(exc)[:500], iso(now + timedelta(seconds=backoff)), row["id"]),
            )
            return
        except PermanentError as exc:
            self.failed += 1
            log.error("outbox row %s (%s) failed for good: %s", row["id"], row["kind"], exc)
            await self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, done_at = ?, failed = 1 WHERE id = ?",
                (str(exc)[:500], iso(now), row["id"]),
            )
            return
        self.delivered += 1
        await self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, done_at = ?, result = ? WHERE id = ?",
            (iso(self._clock.now()), json.dumps(result), row["id"]),
        )

    async def _do(self, kind: str, payload: dict[str, Any], nonce: str) -> dict[str, Any]:
        if kind == "message":
            message = OutMessage.from_json(payload["message"])
            message_id = await self._sink.send_message(int(payload["channel_id"]), message, nonce)
            return {"channel_id": payload["channel_id"], "message_id": message_id}
        if kind == "dm":
            message_id = await self._sink.send_dm(
                int(payload["user_id"]), OutMessage.from_json(payload["message"]), nonce
            )
            return {"message_id": message_id, "channel_id": 0}
        if kind in {"role_add", "role_remove"}:
            action = self._sink.add_role if kind == "role_add" else self._sink.remove_role
            await action(
                int(payload["guild_id"]), int(payload["user_id"]), int(payload["role_id"]), payload.get("reason", "")
            )
            return {}
        if kind == "message_edit":
            target = await posted_message(self._db, payload["target_key"])
            if target is None:
                pending = await self._db.fetchval(
                    "SELECT 1 FROM outbox WHERE dedupe_key = ? AND done_at IS NULL", (payload["target_key"],)
                )
                if pending:
                    raise TransientError("the message to edit is not posted yet", retry_after=1)
                raise PermanentError(f"no posted message for {payload['target_key']}")
            await self._sink.edit_message(
                target.channel_id, target.message_id, OutMessage.from_json(payload["message"])
            )
            return {}
        raise PermanentError(f"unknown outbox kind {kind!r}")
