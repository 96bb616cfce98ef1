"""The webhook receiver: verify, store durably, acknowledge fast, then process into the ledger."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple

from aiohttp import web

from bot.clock import Clock
from bot.db import Database, DatabaseError
from bot.github.payloads import PayloadError, facts_from_webhook, repo_name
from bot.ledger import ApplyResult, Fact, Ledger
from bot.timeutil import iso

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024
RETRY_LATER = 5.0  # seconds before a delivery the database could not take (full disk, read-only) is tried again
HANDLED_EVENTS = frozenset({"pull_request", "pull_request_review", "issues", "star", "member", "ping"})
# Deliveries are stored, and later recorded in the ledger, many to a transaction when many arrive at once: one
# commit and one turn of the write lock per batch instead of per delivery (benchmarks/RESULTS.md, ingest).
BATCH = 200
NOT_JSON = "the body is not a JSON object (configure the webhook's content type as application/json)"
# During a burst (this many deliveries being acknowledged at once), processing waits for it to thin out, at most
# ACKS_FIRST seconds per batch: the burst is acknowledged at full speed, well within GitHub's 10 s, and the ledger
# catches up after. Below that, both run side by side (benchmarks/RESULTS.md, ingest).
BURST = 16
ACKS_FIRST = 1.0
SETTLED = 0.02  # how long a burst must have thinned out before processing goes on (longer than a sender's pause)


class _Received(NamedTuple):
    """A verified delivery waiting for its turn to be stored."""

    delivery: str
    event: str
    received_at: str
    body: bytes
    stored: asyncio.Future[bool]


class _Work(NamedTuple):
    """A stored delivery and the facts it carries (or why it carries none)."""

    delivery: str
    facts: list[Fact]
    error: str | None
    action: str | None = None


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Check ``X-Hub-Signature-256`` over the raw body in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.digest(secret, body, hashlib.sha256).hex()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


class Metrics:
    """Counters and gauges for /metrics, in Prometheus' text format.

    A gauge reads one value, or one value per label set (``{'{job="x"}': 3.0}``) for a labelled family.
    """

    def __init__(self) -> None:
        self.counters: dict[str, float] = {}
        self.gauges: dict[str, Callable[[], Awaitable[float | dict[str, float]]]] = {}

    def inc(self, name: str, amount: float = 1) -> None:
        """Add to a counter."""
        self.counters[name] = self.counters.get(name, 0) + amount

    async def render(self) -> str:
        """Render every counter and gauge, each family under one TYPE line (Prometheus refuses a second)."""
        families: dict[str, list[str]] = {}
        for name, count in sorted(self.counters.items()):
            families.setdefault(name.split("{")[0], ["counter"]).append(f"{name} {count}")
        for name, read in sorted(self.gauges.items()):
            try:
                value = await read()
            except Exception:  # a gauge that cannot be read is left out, not fatal
                log.debug("gauge %s failed", name, exc_info=True)
                continue
            readings = value if isinstance(value, dict) else {"": value}
            families[name] = ["gauge", *(f"{name}{labels} {float(v)}" for labels, v in sorted(readings.items()))]
        lines = []
        for family, (kind, *samples) in families.items():
            lines += [f"# TYPE {family} {kind}", *samples]
        return "\n".join(lines) + "\n"


class WebhookReceiver:
    """Receive GitHub deliveries for the followed repositories."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        clock: Clock,
        *,
        secret: str | None,
        repositories: Iterable[str],
        path: str = "/github/webhook",
        metrics: Metrics | None = None,
        health: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self._secret = secret.encode() if secret else None
        self._repos = {repo.lower() for repo in repositories}
        self._repo_names = [repo.encode() for repo in self._repos]
        self.path = path
        self.metrics = metrics or Metrics()
        self._health = health
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._received: list[_Received] = []
        self._writer: asyncio.Task[None] | None = None
        self._facts: dict[str, tuple[Any, ...]] = {}  # deliveries to retry: their facts and error, kept in memory
        self._acking = 0
        self._calm = asyncio.Event()
        self._calm.set()
        self._calm_since = 0.0
        self._runner: web.AppRunner | None = None
        self._busy = 0
        self.url: str | None = None
        if self._secret is None:
            log.warning(
                "webhooks are on without GITHUB_WEBHOOK_SECRET: anyone who finds the URL could post "
                "deliveries; set the secret in GitHub and in the environment"
            )

    def set_health(self, check: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Add checks to /healthz (the gateway's, once the bot exists)."""
        self._health = check

    def app(self) -> web.Application:
        """Build the aiohttp application."""
        app = web.Application(client_max_size=MAX_BODY + 1024)
        app.router.add_post(self.path, self.handle)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_view)
        return app

    async def start(self, host: str, port: int) -> None:
        """Listen, then process deliveries that were stored but not processed before a restart."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{'127.0.0.1' if host in {'0.0.0.0', ''} else host}:{bound}{self.path}"  # noqa: S104
        await self.start_processing()
        log.info("webhook receiver listening on %s:%s%s", host, bound, self.path)

    async def start_processing(self) -> None:
        """Start the processing worker and queue any unprocessed deliveries."""
        for row in await self._db.fetchall(
            "SELECT delivery_id FROM webhook_deliveries WHERE processed_at IS NULL ORDER BY received_at"
        ):
            self._queue.put_nowait(row["delivery_id"])
        self._worker = asyncio.create_task(self._work(), name="vestry-webhooks")

    async def stop(self) -> None:
        """Stop listening and processing."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in (self._writer, self._worker):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._writer = self._worker = None

    def pending(self) -> int:
        """Count deliveries received but not yet processed."""
        return len(self._received) + self._queue.qsize() + self._busy

    async def drain(self, timeout: float = 30) -> None:
        """Wait until every received delivery is processed."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.pending()} webhook deliveries still being processed")
            await asyncio.sleep(0.01)

    async def handle(self, request: web.Request) -> web.Response:
        """Accept one delivery."""
        self._acking += 1
        if self._acking >= BURST:
            self._calm.clear()
        try:
            return await self._accept(request)
        finally:
            self._acking -= 1
            if self._acking < BURST and not self._calm.is_set():
                self._calm.set()
                self._calm_since = time.monotonic()

    async def _accept(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _text(413, "payload too large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _text(413, "payload too large")
        except web.RequestPayloadError:  # e.g. "Content-Encoding: gzip" on a body that is not gzip
            return _text(400, "the body could not be read as its Content-Encoding says")
        if len(body) > MAX_BODY:
            return _text(413, "payload too large")
        if self._secret is not None and not signature_ok(
            self._secret, body, request.headers.get("X-Hub-Signature-256")
        ):
            self.metrics.inc('vestry_webhook_deliveries_total{result="bad_signature"}')
            return _text(401, "missing or wrong X-Hub-Signature-256")
        event = request.headers.get("X-GitHub-Event", "")
        delivery = request.headers.get("X-GitHub-Delivery", "")
        if not event or not delivery or len(delivery) > 100:
            return _text(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
        # The body is parsed once, when it is processed: acknowledging stays cheap, so a burst is taken at the
        # speed of the network (benchmarks/RESULTS.md, ingest). What would make it unusable is checked here
        # cheaply, and processing records the rest as the delivery's error.
        if body.lstrip()[:1] != b"{" or body.rstrip()[-1:] != b"}":
            return _text(400, NOT_JSON)
        if event == "ping":
            return _text(200, "pong")
        lowered = body.lower()
        if event not in HANDLED_EVENTS or not any(name in lowered for name in self._repo_names):
            # No followed repository is named anywhere in the body: not ours (processing checks the exact one).
            log.debug("ignoring %s delivery %s", event, delivery)
            self.metrics.inc('vestry_webhook_deliveries_total{result="ignored"}')
            return _text(202, "ignored: not an event or repository Vestry follows")
        stored = asyncio.get_running_loop().create_future()
        self._received.append(_Received(delivery, event, iso(self._clock.now()), body, stored))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._store_received(), name="vestry-webhook-store")
        try:
            new = await stored
        except DatabaseError:  # full disk, read-only file: GitHub shows the delivery failed; catch-up polls it
            self.metrics.inc('vestry_webhook_deliveries_total{result="not_stored"}')
            return _text(503, "Vestry cannot store deliveries right now; its operator can see why in the log")
        if not new:
            self.metrics.inc('vestry_webhook_deliveries_total{result="duplicate"}')
            return _text(200, "duplicate delivery; already received")
        self.metrics.inc('vestry_webhook_deliveries_total{result="accepted"}')
        return _text(202, "accepted")

    async def _store_received(self) -> None:
        """Store waiting deliveries, a batch per transaction, then queue the new ones for processing."""
        while self._received:
            batch, self._received = self._received[:BATCH], self._received[BATCH:]
            try:
                fresh = await self._insert(batch)
            except Exception as exc:  # the senders get a 500 and GitHub shows the delivery as failed
                log.exception("storing %d webhook deliveries failed", len(batch))
                for item in batch:
                    if not item.stored.done():
                        item.stored.set_exception(exc)
                continue
            for item in batch:
                if not item.stored.done():
                    item.stored.set_result(item.delivery in fresh)
            for item in batch:
                if item.delivery in fresh:
                    # Queued here, not by the handler, so that a sender hanging up cannot leave it unqueued.
                    fresh.discard(item.delivery)
                    self._queue.put_nowait(item.delivery)

    async def _insert(self, batch: Sequence[_Received]) -> set[str]:
        """Insert the deliveries not stored before, in one statement; return their ids."""
        rows = list({item.delivery: item for item in batch}.values())
        params: list[object] = []
        for item in rows:
            params += (item.delivery, item.event, item.received_at, item.body)
        stored = await self._db.execute_returning(
            "INSERT INTO webhook_deliveries(delivery_id, event, received_at, body) VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * len(rows))
            + " ON CONFLICT(delivery_id) DO NOTHING RETURNING delivery_id",
            params,
        )
        return {row[0] for row in stored}

    async def healthz(self, request: web.Request) -> web.Response:
        """Report liveness of the event loop, database and gateway."""
        checks: dict[str, Any] = {"event_loop": True}
        try:
            await self._db.fetchval("SELECT 1")
            checks["database"] = True
        except Exception as exc:  # the health endpoint reports, it does not raise
            checks["database"] = f"error: {exc}"
        if self._health is not None:
            checks.update(await self._health())
        ok = all(value is True for value in checks.values())
        return web.Response(
            status=200 if ok else 503, text=json.dumps({"ok": ok, **checks}), content_type="application/json"
        )

    async def metrics_view(self, request: web.Request) -> web.Response:
        """Serve Prometheus metrics."""
        return web.Response(text=await self.metrics.render(), content_type="text/plain")

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            self._busy += 1
            await self._after_burst()
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

    async def _after_burst(self) -> None:
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

    async def process(self, delivery: str) -> None:
        """Turn one stored delivery into ledger facts and mark it processed."""
        await self.process_many([delivery])

    async def process_many(self, deliveries: Sequence[str]) -> None:
        """Record stored deliveries in the ledger and mark them processed, in one transaction when all goes well."""
        started = time.perf_counter()
        work = await self._load(deliveries)
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
            log.error("webhook delivery %s not recorded (%s); retrying in %.0f s", item.delivery, exc, RETRY_LATER)
            self._facts[item.delivery] = tuple(item)[1:]
            asyncio.get_running_loop().call_later(RETRY_LATER, self._queue.put_nowait, item.delivery)
        except Exception as exc:
            log.exception("webhook delivery %s cannot be recorded; marking it processed with the error", item.delivery)
            await self._record([_Work(item.delivery, [], f"cannot be recorded: {type(exc).__name__}: {exc}"[:500])])

    def _facts_of(self, delivery: str, event: str, body: bytes) -> tuple[list[Fact], str | None, str | None]:
        """Parse a stored body into facts; return them, the error that made it unusable, and its action."""
        try:
            payload = json.loads(body)
        except ValueError:
            return [], NOT_JSON, None
        if not isinstance(payload, dict):
            return [], NOT_JSON, None
        action = None if payload.get("action") is None else str(payload["action"])
        repo = repo_name(payload)
        if repo is None or repo.lower() not in self._repos:
            return [], f"ignored: {repo or 'no repository'} is not a followed repository", action
        try:
            return facts_from_webhook(event, payload), None, action
        except PayloadError as exc:
            log.warning("webhook delivery %s could not be used: %s", delivery, exc)
            return [], str(exc), action
        except Exception as exc:  # a payload shape the translator did not expect: unusable, never retried forever
            log.exception("webhook delivery %s (%s) could not be read", delivery, event)
            return [], f"unreadable {event} payload: {type(exc).__name__}: {exc}"[:500], action

    async def _load(self, deliveries: Sequence[str]) -> list[_Work]:
        """Read the deliveries' bodies (one query per batch) and parse them; retried ones come from memory."""
        found = {d: self._facts.pop(d) for d in deliveries if d in self._facts}
        missing = [d for d in deliveries if d not in found]
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            rows = await self._db.fetchall(
                "SELECT delivery_id, event, body FROM webhook_deliveries WHERE processed_at IS NULL "
                f"AND delivery_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in rows:
                found[row["delivery_id"]] = self._facts_of(row["delivery_id"], row["event"], row["body"])
        return [_Work(d, *found[d]) for d in dict.fromkeys(deliveries) if d in found]

    async def _record(self, work: Sequence[_Work]) -> None:
        go_live = await self._ledger.go_live()
        facts = [fact for item in work for fact in item.facts]
        async with self._db.transaction() as conn:
            result = await self._ledger.apply_in(conn, facts, "webhook", go_live) if facts else ApplyResult()
            now = iso(self._clock.now())
            await conn.executemany(
                "UPDATE webhook_deliveries SET processed_at = ?, error = ?, action = COALESCE(?, action), body = NULL "
                "WHERE delivery_id = ?",
                [(now, item.error, item.action, item.delivery) for item in work],
            )
        self._ledger.committed(result)


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
