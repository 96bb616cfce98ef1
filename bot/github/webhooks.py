"""The webhook receiver: verify, store durably, acknowledge fast, then process into the ledger."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.db import Database
from bot.github.payloads import PayloadError, facts_from_webhook, repo_name
from bot.ledger import Ledger
from bot.timeutil import iso

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024
HANDLED_EVENTS = frozenset({"pull_request", "pull_request_review", "issues", "star", "member", "ping"})


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Check ``X-Hub-Signature-256`` over the raw body in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


class Metrics:
    """Counters for /metrics, in Prometheus' text format."""

    def __init__(self) -> None:
        self.counters: dict[str, float] = {}
        self.gauges: dict[str, Callable[[], Awaitable[float]]] = {}

    def inc(self, name: str, amount: float = 1) -> None:
        """Add to a counter."""
        self.counters[name] = self.counters.get(name, 0) + amount

    async def render(self) -> str:
        """Render every counter and gauge."""
        lines = []
        for name, value in sorted(self.counters.items()):
            metric = name.split("{")[0]
            lines.append(f"# TYPE {metric} counter")
            lines.append(f"{name} {value}")
        for name, read in sorted(self.gauges.items()):
            try:
                value = await read()
            except Exception:  # a gauge that cannot be read is left out, not fatal
                log.debug("gauge %s failed", name, exc_info=True)
                continue
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {value}")
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
        self.path = path
        self.metrics = metrics or Metrics()
        self._health = health
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._busy = 0
        self.url: str | None = None
        if self._secret is None:
            log.warning(
                "webhooks are on without GITHUB_WEBHOOK_SECRET: anyone who finds the URL could post "
                "deliveries; set the secret in GitHub and in the environment"
            )

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
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    def pending(self) -> int:
        """Count deliveries received but not yet processed."""
        return self._queue.qsize() + self._busy

    async def drain(self, timeout: float = 30) -> None:
        """Wait until every received delivery is processed."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.pending()} webhook deliveries still being processed")
            await asyncio.sleep(0.01)

    async def handle(self, request: web.Request) -> web.Response:
        """Accept one delivery."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _text(413, "payload too large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _text(413, "payload too large")
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
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _text(400, "the body is not JSON (configure the webhook's content type as application/json)")
        if not isinstance(payload, dict):
            return _text(400, "the body is not a JSON object")
        if event == "ping":
            return _text(200, "pong")
        repo = repo_name(payload)
        if event not in HANDLED_EVENTS or repo is None or repo.lower() not in self._repos:
            log.debug("ignoring %s delivery %s for %s", event, delivery, repo)
            self.metrics.inc('vestry_webhook_deliveries_total{result="ignored"}')
            return _text(202, "ignored: not an event or repository Vestry follows")
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO webhook_deliveries(delivery_id, event, action, received_at, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (delivery, event, str(payload.get("action") or ""), iso(self._clock.now()), body),
            )
        if cursor.rowcount == 0:
            self.metrics.inc('vestry_webhook_deliveries_total{result="duplicate"}')
            return _text(200, "duplicate delivery; already received")
        self.metrics.inc('vestry_webhook_deliveries_total{result="accepted"}')
        self._queue.put_nowait(delivery)
        return _text(202, "accepted")

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
            delivery = await self._queue.get()
            self._busy += 1
            try:
                await self.process(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("processing webhook delivery %s failed", delivery)
            finally:
                self._busy -= 1

    async def process(self, delivery: str) -> None:
        """Turn one stored delivery into ledger facts and mark it processed."""
        row = await self._db.fetchone(
            "SELECT event, body, processed_at FROM webhook_deliveries WHERE delivery_id = ?", (delivery,)
        )
        if row is None or row["processed_at"] is not None:
            return
        started = time.perf_counter()
        error = None
        try:
            facts = facts_from_webhook(row["event"], json.loads(row["body"]))
            await self._ledger.apply(facts, "webhook")
        except PayloadError as exc:
            error = str(exc)
            log.warning("webhook delivery %s could not be used: %s", delivery, exc)
        await self._db.execute(
            "UPDATE webhook_deliveries SET processed_at = ?, error = ?, body = NULL WHERE delivery_id = ?",
            (iso(self._clock.now()), error, delivery),
        )
        self.metrics.inc("vestry_webhook_processing_seconds_total", time.perf_counter() - started)
        self.metrics.inc("vestry_webhook_processed_total")


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
