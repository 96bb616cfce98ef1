"""The intake: spooled webhook deliveries become ledger facts, a batch to a transaction.

The receiver (``bot/github/webhooks.py``) verifies and spools deliveries and hands each to :meth:`Intake.put`. The
intake reads them back, turns their bodies into facts (``bot/github/facts.py``), records the facts and the
deliveries' ids and outcomes in ``webhook_deliveries`` in one transaction per batch, and releases them from the
spool. A delivery the database cannot take now is kept and retried; one that can never be recorded is marked
processed with its error, never retried forever.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from bot.clock import Clock
from bot.db import Database, DatabaseError
from bot.github.facts import PayloadError, facts_from_webhook, repo_name
from bot.github.repos import Repositories
from bot.github.spool import Entry, Spool
from bot.ledger import Fact, Ledger
from bot.timeutil import iso
from bot.web.metrics import Metrics

log = logging.getLogger(__name__)

RETRY_LATER = 5.0  # seconds before a delivery the database could not take (full disk, read-only) is tried again
# Many deliveries to a transaction when many arrive at once: one commit and one turn of the write lock per batch
# instead of per delivery (benchmarks/RESULTS.md, ingest).
BATCH = 200
APP_EVENTS = frozenset({"installation", "installation_repositories"})  # a GitHub App's: what it can see changed
NOT_JSON = "the body is not a JSON object (configure the webhook's content type as application/json)"
# During a burst (this many deliveries being acknowledged at once), processing waits for it to thin out, at most
# ACKS_FIRST seconds per batch: the burst is acknowledged at full speed, well within GitHub's 10 s, and the ledger
# catches up after. Below that, both run side by side (benchmarks/RESULTS.md, ingest).
BURST = 16
ACKS_FIRST = 1.0
SETTLED = 0.02  # how long a burst must have thinned out before processing goes on (longer than a sender's pause)


Installations = Callable[[str, dict[str, Any]], None]


class Burst:
    """How many deliveries are being acknowledged right now; processing yields to a burst of them."""

    def __init__(self) -> None:
        self._acking = 0
        self._calm = asyncio.Event()
        self._calm.set()
        self._calm_since = 0.0

    def enter(self) -> None:
        """A delivery is being acknowledged."""
        self._acking += 1
        if self._acking >= BURST:
            self._calm.clear()

    def leave(self) -> None:
        """A delivery was answered."""
        self._acking -= 1
        if self._acking < BURST and not self._calm.is_set():
            self._calm.set()
            self._calm_since = time.monotonic()

    async def thinned_out(self) -> None:
        """Wait while a burst is being acknowledged, until it has thinned out for a moment; at most ACKS_FIRST."""
        deadline = time.monotonic() + ACKS_FIRST
        while (left := deadline - time.monotonic()) > 0:
            if not self._calm.is_set():
                try:
                    await asyncio.wait_for(self._calm.wait(), left)
                except TimeoutError:
                    return
            calm_for = time.monotonic() - self._calm_since
            if calm_for >= SETTLED:
                return
            await asyncio.sleep(SETTLED - calm_for)


class _Work(NamedTuple):
    """A spooled delivery and the facts it carries (or why it carries none)."""

    entry: Entry
    facts: list[Fact]
    error: str | None
    action: str | None = None


class Intake:
    """Record spooled deliveries in the ledger, in order of arrival, a batch at a time."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        clock: Clock,
        repos: Repositories,
        spool: Spool,
        metrics: Metrics,
        burst: Burst,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self._repos = repos
        self.spool = spool
        self.metrics = metrics
        self._burst = burst
        self._queue: asyncio.Queue[Entry] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._facts: dict[str, tuple[Any, ...]] = {}  # deliveries to retry: their facts and error, kept in memory
        self._busy = 0
        self.installations: Installations | None = None  # App mode: told of the installation's deliveries

    def put(self, entry: Entry) -> None:
        """Queue a spooled delivery."""
        self._queue.put_nowait(entry)

    def start(self) -> None:
        """Start the processing worker."""
        self._worker = asyncio.create_task(self._work(), name="vestry-webhooks")

    async def stop(self) -> None:
        """Stop processing; what is spooled and not recorded waits for the next start."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    def pending(self) -> int:
        """Count deliveries queued, being recorded, or waiting to be retried."""
        return self._queue.qsize() + self._busy + len(self._facts)

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            self._busy += 1
            await self._burst.thinned_out()
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                self._busy += 1
            try:
                await self.process_many(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("processing webhook deliveries %s… failed", batch[0])
            finally:
                self._busy -= len(batch)

    async def process_many(self, entries: Sequence[Entry]) -> None:
        """Record spooled deliveries in the ledger and release them, in one transaction when all goes well."""
        started = time.perf_counter()
        work = self._load(entries)
        if not work:
            return
        try:
            await self._record(work)
        except Exception:
            # One delivery the ledger cannot take must not hold back the others: record them one by one.
            for item in work:
                await self._record_alone(item)
        self.metrics.inc("vestry_webhook_processing_seconds_total", time.perf_counter() - started)
        self.metrics.inc("vestry_webhook_processed_total", len(work))

    async def _record_alone(self, item: _Work) -> None:
        """Record one delivery; one that can never be recorded is marked processed with its error, not retried."""
        try:
            await self._record([item])
        except (sqlite3.OperationalError, DatabaseError) as exc:
            # The database cannot write now (full disk, read-only file, locked): keep the delivery and retry.
            delivery = item.entry.delivery
            log.error("webhook delivery %s not recorded (%s); retrying in %.0f s", delivery, exc, RETRY_LATER)
            self._facts[delivery] = tuple(item)[1:]
            asyncio.get_running_loop().call_later(RETRY_LATER, self._queue.put_nowait, item.entry)
        except Exception as exc:
            delivery = item.entry.delivery
            log.exception("webhook delivery %s cannot be recorded; marking it processed with the error", delivery)
            error = f"cannot be recorded: {type(exc).__name__}: {exc}"[:500]
            await self._record([_Work(item.entry, [], error, item.action)])

    def _facts_of(self, entry: Entry) -> tuple[list[Fact], str | None, str | None]:
        """Parse a spooled body into facts; return them, the error that made it unusable, and its action."""
        delivery, event = entry.delivery, entry.event
        try:
            payload = json.loads(self.spool.read(entry))
        except ValueError:
            return [], NOT_JSON, None
        except OSError as exc:  # the spool file was damaged or removed under the bot
            log.error("webhook delivery %s cannot be read back from the spool: %s", delivery, exc)
            return [], f"lost from the spool: {exc}"[:500], None
        if not isinstance(payload, dict):
            return [], NOT_JSON, None
        action = None if payload.get("action") is None else str(payload["action"])
        if event in APP_EVENTS and self.installations is not None:
            self.installations(event, payload)
            return [], None, action
        repo = repo_name(payload)
        followed = self._repos.observe(payload)
        if followed is None:
            return [], f"ignored: {repo or 'no repository'} is not a followed repository", action
        try:
            return _renamed(facts_from_webhook(event, payload), followed.full_name), None, action
        except PayloadError as exc:
            log.warning("webhook delivery %s could not be used: %s", delivery, exc)
            return [], str(exc), action
        except Exception as exc:  # a payload shape the translator did not expect: unusable, never retried forever
            log.exception("webhook delivery %s (%s) could not be read", delivery, event)
            return [], f"unreadable {event} payload: {type(exc).__name__}: {exc}"[:500], action

    def _load(self, entries: Sequence[Entry]) -> list[_Work]:
        """Read and parse the deliveries' bodies; retried ones come from memory. A second copy of a delivery in
        the batch (spooled twice) is released at once: its first copy is the one recorded."""
        unique: dict[str, Entry] = {}
        twice = []
        for entry in entries:
            if entry.delivery in unique:
                twice.append(entry)
            else:
                unique[entry.delivery] = entry
        self.spool.release(twice)
        work = []
        for entry in unique.values():
            found = self._facts.pop(entry.delivery, None)
            work.append(_Work(entry, *(found or self._facts_of(entry))))
        return work

    async def _record(self, work: Sequence[_Work]) -> None:
        """Record the deliveries' ids and outcomes, and the facts of those not recorded before, then release them."""
        go_live = await self._ledger.go_live()
        now = iso(self._clock.now())
        rows: list[object] = []
        for item in work:
            entry = item.entry
            rows += (entry.delivery, entry.event, item.action, entry.received_at, now, item.error)
        async with self._db.transaction() as conn:
            await self._repos.apply_moves(conn, self._clock)
            fresh = {
                row[0]
                for row in await conn.execute_fetchall(
                    "INSERT INTO webhook_deliveries(delivery_id, event, action, received_at, processed_at, error) "
                    f"VALUES {', '.join(['(?, ?, ?, ?, ?, ?)'] * len(work))} "
                    "ON CONFLICT(delivery_id) DO NOTHING RETURNING delivery_id",
                    rows,
                )
            }
            facts = [fact for item in work if item.entry.delivery in fresh for fact in item.facts]
            if facts:
                await self._ledger.apply_in(conn, facts, "webhook", go_live)
        self.spool.release([item.entry for item in work])


def _renamed(facts: list[Fact], name: str) -> list[Fact]:
    """Key facts by the repository's current name (a late delivery may still carry an old one)."""
    return [fact if fact.repo == name else dataclasses.replace(fact, repo=name) for fact in facts]
