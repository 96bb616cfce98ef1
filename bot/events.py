"""Domain events: written with the ledger change that caused them, handed to consumers in order.

A consumer handles each event inside the transaction that advances its cursor, so a decision and the
outbox rows it writes commit together: a crash before the commit replays the event, after it skips it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import aiosqlite

from bot.clock import Clock
from bot.db import Database, DatabaseError
from bot.db.commits import EVENTS, wrote
from bot.domain import DomainEvent, UnknownEvent, decode
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened, as stored in the event log: its sequence number and its typed ``data``."""

    seq: int
    data: DomainEvent
    historical: bool
    created_at: datetime

    @property
    def kind(self) -> str:
        """The stored name of the event's kind."""
        return self.data.KIND


def _row(event: DomainEvent, historical: bool, now: datetime) -> tuple[str, str, int, str]:
    return event.KIND, json.dumps(event.payload(), sort_keys=True), int(historical), iso(now)


async def append_event(conn: aiosqlite.Connection, event: DomainEvent, *, historical: bool, now: datetime) -> None:
    """Record an event inside the caller's transaction."""
    wrote(EVENTS)
    await conn.execute(
        "INSERT INTO events(kind, payload, historical, created_at) VALUES (?, ?, ?, ?)", _row(event, historical, now)
    )


async def append_events(
    conn: aiosqlite.Connection, events: Sequence[tuple[DomainEvent, bool]], *, now: datetime
) -> None:
    """Record ``(event, historical)`` pairs, in order, inside the caller's transaction, in one statement."""
    wrote(EVENTS)
    await conn.executemany(
        "INSERT INTO events(kind, payload, historical, created_at) VALUES (?, ?, ?, ?)",
        [_row(event, historical, now) for event, historical in events],
    )


def decode_rows(rows: Sequence[aiosqlite.Row], clock: Clock) -> list[Event]:
    """Rebuild stored events; a row of a kind no class claims is logged and left out (it can never be handled)."""
    events = []
    for r in rows:
        try:
            data = decode(r["kind"], json.loads(r["payload"]))
        except (UnknownEvent, TypeError, ValueError) as exc:
            log.error("event %s cannot be read and is skipped: %s", r["seq"], exc)
            continue
        events.append(Event(r["seq"], data, bool(r["historical"]), parse_iso(r["created_at"]) or clock.now()))
    return events


class EventConsumer(Protocol):
    """A service that reacts to events; ``handle`` runs inside the transaction that advances its cursor."""

    name: str

    async def handle(self, conn: aiosqlite.Connection, events: Sequence[Event]) -> None: ...


class EventBus:
    """Feed the event log to each consumer in order, durably, one batch at a time."""

    def __init__(self, db: Database, clock: Clock, batch_size: int = 200) -> None:
        self._db = db
        self._clock = clock
        self._batch = batch_size
        self._consumers: list[EventConsumer] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.failures = 0
        db.after_commit(EVENTS, self.notify)  # every committed event wakes the bus

    def subscribe(self, consumer: EventConsumer) -> None:
        """Add a consumer; it starts after the newest event if it has no cursor yet."""
        self._consumers.append(consumer)

    def notify(self) -> None:
        """Tell the bus that new events were committed."""
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        """Create cursors for new consumers and start the background loop."""
        for consumer in self._consumers:
            await self._db.execute("INSERT OR IGNORE INTO event_cursors(consumer, seq) VALUES (?, 0)", (consumer.name,))
        self._task = asyncio.create_task(self._run(), name="vestry-events")
        self.notify()

    async def stop(self) -> None:
        """Stop the background loop."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def drain(self, timeout: float = 30) -> None:
        """Process until every consumer has seen every event."""
        self.notify()
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def pending(self) -> int:
        """Count events some consumer has not handled yet."""
        newest = await self._db.fetchval("SELECT MAX(seq) FROM events", default=0)
        oldest_cursor = await self._db.fetchval("SELECT MIN(seq) FROM event_cursors", default=newest)
        return max(0, int(newest) - int(oldest_cursor))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self._step():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("event processing failed; retrying in 1 s")
                await asyncio.sleep(1)
                self._wake.set()
                continue
            if not self._wake.is_set():
                self._idle.set()

    async def _step(self) -> bool:
        """Give each consumer its next batch; return whether anything was handled.

        Every consumer sees the log as it stood when the step began, so that an event written meanwhile reaches
        them all in a later step, in subscription order: the ladder never handles a merge before recognition has,
        and a promotion is never posted before the welcome of the merge that caused it.
        """
        worked = False
        newest = await self._db.fetchval("SELECT MAX(seq) FROM events", default=0) or 0
        for consumer in self._consumers:
            cursor = await self._db.fetchval(
                "SELECT seq FROM event_cursors WHERE consumer = ?", (consumer.name,), default=0
            )
            rows = await self._db.fetchall(
                "SELECT seq, kind, payload, historical, created_at FROM events WHERE seq > ? AND seq <= ? "
                "ORDER BY seq LIMIT ?",
                (cursor, newest, self._batch),
            )
            if not rows:
                continue
            events = decode_rows(rows, self._clock)
            if not events:  # only unreadable rows: move past them
                await self._db.execute(
                    "UPDATE event_cursors SET seq = ? WHERE consumer = ?", (rows[-1]["seq"], consumer.name)
                )
            else:
                await self._deliver(consumer, events)
            worked = True
        return worked

    async def _deliver(self, consumer: EventConsumer, events: list[Event]) -> None:
        last = events[-1].seq
        try:
            async with self._db.transaction() as conn:
                await consumer.handle(conn, events)
                await conn.execute("UPDATE event_cursors SET seq = ? WHERE consumer = ?", (last, consumer.name))
        except DatabaseError:
            raise  # the database cannot write now (full disk, read-only): retry the batch later, never skip it
        except Exception:
            if len(events) > 1:
                # Find the one event that fails, so the others still get through.
                for event in events:
                    await self._deliver(consumer, [event])
                return
            self.failures += 1
            log.exception("consumer %s failed on event %s (%s); skipping it", consumer.name, last, events[0].kind)
            await self._db.execute("UPDATE event_cursors SET seq = ? WHERE consumer = ?", (last, consumer.name))
