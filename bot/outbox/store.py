"""The outbox's SQL: the head row of each lane, what became of a row, and the dead letters a maintainer retries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.db import Database
from bot.db.commits import OUTBOX, wrote
from bot.errors import UserFacingError
from bot.outbox.enqueue import new_nonce
from bot.outbox.model import POST_KINDS
from bot.timeutil import iso, parse_iso


@dataclass(frozen=True)
class OutboxRow:
    """One side effect waiting to be done."""

    id: int
    dedupe_key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime | None
    not_before: datetime | None
    lane: str
    nonce: str
    sent_at: datetime | None

    def due(self, now: datetime) -> bool:
        """Tell whether the row may run at ``now``; a wall clock set back before the row's creation holds nothing."""
        if self.not_before is None or self.not_before <= now:
            return True
        return self.created_at is not None and self.created_at > now


@dataclass(frozen=True)
class FailedRow:
    """A dead letter: a side effect that failed for good, with its last error."""

    id: int
    lane: str
    kind: str
    dedupe_key: str
    attempts: int
    last_error: str
    failed_at: datetime | None


@dataclass(frozen=True)
class LaneState:
    """What waits in one lane."""

    lane: str
    waiting: int
    oldest: datetime | None
    attempts: int
    last_error: str | None


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=int(row["id"]),
        dedupe_key=row["dedupe_key"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        attempts=int(row["attempts"]),
        created_at=parse_iso(row["created_at"]),
        not_before=parse_iso(row["not_before"]),
        lane=row["lane"] or "other",
        nonce=row["nonce"] or (new_nonce() if row["kind"] in POST_KINDS else ""),
        sent_at=parse_iso(row["sent_at"]),
    )


async def lane_heads(db: Database, *, skip: Iterable[str] = (), limit: int = 64) -> list[OutboxRow]:
    """Return the oldest undone row of each lane (oldest first), leaving out the lanes in ``skip``."""
    rows = await db.fetchall(
        # Undone rows in order (index outbox_undone), keeping those no older undone row of their lane precedes:
        # a page of heads costs about a page of reads, not a pass over every lane.
        "SELECT id, dedupe_key, kind, payload, attempts, created_at, not_before, lane, nonce, sent_at FROM outbox AS o "
        "WHERE done_at IS NULL AND lane NOT IN (SELECT value FROM json_each(?)) AND NOT EXISTS "
        "(SELECT 1 FROM outbox AS p WHERE p.lane = o.lane AND p.done_at IS NULL AND p.id < o.id) ORDER BY id LIMIT ?",
        (json.dumps(sorted(skip)), limit),
    )
    return [_row(row) for row in rows]


async def lane_head(db: Database, lane: str) -> OutboxRow | None:
    """Return the oldest undone row of one lane."""
    row = await db.fetchone(
        "SELECT id, dedupe_key, kind, payload, attempts, created_at, not_before, lane, nonce, sent_at FROM outbox "
        "WHERE done_at IS NULL AND lane = ? ORDER BY id LIMIT 1",
        (lane,),
    )
    return None if row is None else _row(row)


async def mark_sending(db: Database, row: OutboxRow, now: datetime) -> None:
    """Record, before a post goes out, that it may reach Discord (and keep its nonce)."""
    await db.execute(
        "UPDATE outbox SET sent_at = COALESCE(sent_at, ?), nonce = ? WHERE id = ?", (iso(now), row.nonce, row.id)
    )


async def mark_done(db: Database, row_id: int, result: dict[str, Any], now: datetime, *, attempted: bool) -> bool:
    """Record a row as done with its result; return False when it was done already."""
    rows = await db.execute_returning(
        "UPDATE outbox SET attempts = attempts + ?, done_at = ?, result = ?, failed = 0 "
        "WHERE id = ? AND done_at IS NULL RETURNING id",
        (1 if attempted else 0, iso(now), json.dumps(result), row_id),
    )
    return bool(rows)


async def mark_retry(db: Database, row_id: int, attempts: int, error: str, *, maybe_sent: bool) -> None:
    """Record a transient failure; forget the possible send when Discord said for sure it did nothing."""
    await db.execute(
        "UPDATE outbox SET attempts = ?, last_error = ?, sent_at = CASE WHEN ? THEN sent_at END WHERE id = ?",
        (attempts, error[:500], 1 if maybe_sent else 0, row_id),
    )


async def mark_failed(db: Database, row_id: int, attempts: int, error: str, now: datetime) -> None:
    """Record a row as failed for good: a dead letter, kept with its last error."""
    await db.execute(
        "UPDATE outbox SET attempts = ?, last_error = ?, done_at = ?, failed = 1 WHERE id = ?",
        (attempts, error[:500], iso(now), row_id),
    )


async def claimed_messages(db: Database, lane: str, since: datetime) -> set[int]:
    """Message ids that rows of a lane already recorded as their own posts since ``since``."""
    rows = await db.fetchall(
        "SELECT json_extract(result, '$.message_id') AS message_id FROM outbox "
        "WHERE lane = ? AND done_at >= ? AND result IS NOT NULL",
        (lane, iso(since)),
    )
    return {int(row["message_id"]) for row in rows if row["message_id"]}


async def failed_rows(db: Database, limit: int = 10) -> list[FailedRow]:
    """The newest dead letters."""
    rows = await db.fetchall(
        "SELECT id, lane, kind, dedupe_key, attempts, last_error, done_at FROM outbox WHERE failed = 1 "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        FailedRow(
            int(r["id"]),
            r["lane"],
            r["kind"],
            r["dedupe_key"],
            int(r["attempts"]),
            r["last_error"] or "",
            parse_iso(r["done_at"]),
        )
        for r in rows
    ]


async def failed_count(db: Database) -> int:
    """How many dead letters there are."""
    return int(await db.fetchval("SELECT COUNT(*) FROM outbox WHERE failed = 1", default=0))


async def waiting_lanes(db: Database, limit: int = 10) -> list[LaneState]:
    """The lanes with undone rows, those waiting longest first."""
    rows = await db.fetchall(
        "SELECT lane, COUNT(*) AS waiting, MIN(created_at) AS oldest, MAX(attempts) AS attempts, "
        "(SELECT last_error FROM outbox h WHERE h.lane = o.lane AND h.done_at IS NULL ORDER BY h.id LIMIT 1) "
        "AS last_error FROM outbox o WHERE done_at IS NULL GROUP BY lane ORDER BY MIN(id) LIMIT ?",
        (limit,),
    )
    return [
        LaneState(r["lane"], int(r["waiting"]), parse_iso(r["oldest"]), int(r["attempts"] or 0), r["last_error"])
        for r in rows
    ]


async def retry_failed(db: Database, row_id: int, now: datetime) -> FailedRow:
    """Put a dead letter back at the end of its lane's wait; a clear error when there is no such failed row."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "SELECT id, lane, kind, dedupe_key, attempts, last_error, done_at, failed FROM outbox WHERE id = ?",
            (row_id,),
        )
        row = await cursor.fetchone()
        if row is None:
            raise UserFacingError(f"There is no outbox entry #{row_id}. `/vestry outbox` lists the failed ones.")
        if not row["failed"]:
            state = "still waiting" if row["done_at"] is None else "already done"
            raise UserFacingError(f"Outbox entry #{row_id} has not failed ({state}); only failed entries are retried.")
        wrote(OUTBOX)
        await conn.execute(
            "UPDATE outbox SET failed = 0, done_at = NULL, attempts = 0, not_before = ? WHERE id = ?",
            (iso(now), row_id),
        )
    return FailedRow(
        int(row["id"]),
        row["lane"],
        row["kind"],
        row["dedupe_key"],
        int(row["attempts"]),
        row["last_error"] or "",
        parse_iso(row["done_at"]),
    )


async def complete_by_key(db: Database, dedupe_key: str, result: dict[str, Any], now: datetime) -> bool:
    """Record a row done by other means (an interaction answer made its post); False when it was done already."""
    rows = await db.execute_returning(
        "UPDATE outbox SET attempts = attempts + 1, done_at = ?, result = ? "
        "WHERE dedupe_key = ? AND done_at IS NULL RETURNING id",
        (iso(now), json.dumps(result), dedupe_key),
    )
    return bool(rows)
