"""The webhook receiver: verify, store durably, acknowledge fast; the intake then records them in the ledger.

Deliveries that arrive together are verified (HMAC) and appended to the spool (``bot/github/spool.py``) by one
worker thread, a batch at a time, and acknowledged once written; the event loop only parses HTTP. The intake
(``bot/github/intake.py``) reads them back into the ledger. Acknowledging never waits for the ledger's write lock
(benchmarks/RESULTS.md, ingest).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from aiohttp import web

from bot.clock import Clock
from bot.db import Database, DatabaseError
from bot.github.intake import APP_EVENTS, BATCH, NOT_JSON, Burst, Installations, Intake
from bot.github.repos import Repositories
from bot.github.spool import Entry, Spool, folder_for
from bot.ledger import Ledger
from bot.timeutil import iso
from bot.web.metrics import Metrics

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024
# "repository" (renamed, transferred) carries no facts but shows a followed repository's new name.
HANDLED_EVENTS = frozenset({"pull_request", "pull_request_review", "issues", "star", "member", "ping", "repository"})
RECENT = 8192  # delivery ids remembered in memory to answer a redelivery without reading the database
NOT_STORED = "Vestry cannot store deliveries right now; its operator can see why in the log"


class _Received(NamedTuple):
    """A delivery read off the wire, waiting for its batch to be verified and stored."""

    delivery: str
    event: str
    received_at: str
    body: bytes
    signature: str | None
    answer: asyncio.Future[_Answer]


class _Answer(NamedTuple):
    """What a delivery is answered, and the metric it counts under (None: not counted)."""

    status: int
    text: str
    result: str | None


ACCEPTED = _Answer(202, "accepted", "accepted")
DUPLICATE = _Answer(200, "duplicate delivery; already received", "duplicate")
REFUSED = _Answer(503, NOT_STORED, "not_stored")


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Check ``X-Hub-Signature-256`` over the raw body in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.digest(secret, body, hashlib.sha256).hex()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


class WebhookReceiver:
    """Receive GitHub deliveries for the followed repositories."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        clock: Clock,
        *,
        secret: str | None,
        repositories: Iterable[str] | Repositories,
        path: str = "/github/webhook",
        metrics: Metrics | None = None,
        spool: Path | None = None,
    ) -> None:
        """``spool`` is the folder deliveries wait in (default: beside the database, ``<file>-webhooks``)."""
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self._secret = secret.encode() if secret else None
        # Followed repositories are matched by id, so a renamed or transferred one (or another spelling) is ours.
        self._repos = repositories if isinstance(repositories, Repositories) else Repositories(repositories)
        self.path = path
        self.metrics = metrics or Metrics()
        self.metrics.gauges["vestry_webhook_pending"] = self._pending_gauge
        if spool is None:
            spool = Path(tempfile.mkdtemp(prefix="vestry-webhooks-")) if db.path == ":memory:" else folder_for(db.path)
        self.spool = Spool(spool)
        self._burst = Burst()
        self.intake = Intake(db, ledger, clock, self._repos, self.spool, self.metrics, self._burst)
        self._opened = False
        self._pool: ThreadPoolExecutor | None = None
        self._reader: sqlite3.Connection | None = None  # the spool thread's own, to spot redeliveries
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._received: list[_Received] = []
        self._writer: asyncio.Task[None] | None = None
        self.url: str | None = None
        if self._secret is None:
            log.warning(
                "webhooks are on without GITHUB_WEBHOOK_SECRET: anyone who finds the URL could post "
                "deliveries; set the secret in GitHub and in the environment"
            )

    @property
    def installations(self) -> Installations | None:
        """App mode: who is told of ``installation`` and ``installation_repositories`` deliveries (what is followed)."""
        return self.intake.installations

    @installations.setter
    def installations(self, listener: Installations | None) -> None:
        self.intake.installations = listener

    def app(self) -> web.Application:
        """Build an aiohttp application that serves the receiver alone (the bot's web server mounts it instead)."""
        app = web.Application(client_max_size=MAX_BODY + 1024)
        self.mount(app)
        return app

    def mount(self, app: web.Application) -> None:
        """Add the delivery route to an application; the spool opens before the first delivery is taken."""
        app.on_startup.append(self._on_startup)
        app.router.add_post(self.path, self.handle)

    def served_at(self, base_url: str) -> None:
        """Remember the public URL the web server answers deliveries on."""
        self.url = base_url.rstrip("/") + self.path
        log.info("webhook receiver listening on %s", self.url)

    async def _on_startup(self, app: web.Application) -> None:
        if not self._opened:  # deliveries are stored from the first one the server takes
            await self._open_spool()

    async def start_processing(self) -> None:
        """Open the spool, queue the deliveries it still holds, and start the processing worker."""
        if not self._opened:
            await self._open_spool()
        self.intake.start()

    async def _open_spool(self) -> None:
        """Queue what a previous run stored but did not record: in the spool, or in the database (where versions
        before the spool kept the bodies)."""
        loop = asyncio.get_running_loop()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vestry-webhook-spool")
        try:
            left = await loop.run_in_executor(self._pool, self.spool.open)
        except OSError as exc:
            raise DatabaseError(
                f"the webhook spool folder {self.spool.folder} cannot be used ({exc.strerror or exc}); "
                "make it (and the database's folder) writable by the bot"
            ) from None
        self._opened = True
        recorded = await loop.run_in_executor(self._pool, self._recorded, [entry.delivery for entry in left])
        self.spool.release([entry for entry in left if entry.delivery in recorded])
        for entry in left:
            if entry.delivery not in recorded:
                self._remember([entry.delivery])
                self.intake.put(entry)
        if left:
            log.info("webhook spool: %d deliveries to record from before the restart", len(left) - len(recorded))
        await self._adopt_stored_bodies()

    async def _adopt_stored_bodies(self) -> None:
        """Move deliveries an earlier version left unprocessed in webhook_deliveries (with their body) to the spool."""
        while rows := await self._db.fetchall(
            "SELECT delivery_id, event, received_at, body FROM webhook_deliveries "
            "WHERE processed_at IS NULL ORDER BY received_at LIMIT ?",
            (BATCH,),
        ):
            items = [(r["delivery_id"], r["event"], r["received_at"], bytes(r["body"] or b"")) for r in rows]
            entries = self.spool.append(items)
            ids = [item[0] for item in items]
            await self._db.execute(
                f"DELETE FROM webhook_deliveries WHERE delivery_id IN ({','.join('?' * len(ids))})", ids
            )
            self._remember(ids)
            for entry in entries:
                self.intake.put(entry)

    async def stop(self) -> None:
        """Stop processing; what is spooled and not recorded waits for the next start."""
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
            self._writer = None
        await self.intake.stop()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(pool, self._close_files)
            pool.shutdown()

    def _close_files(self) -> None:
        """Close the spool and the reader (on the spool thread, which uses them)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.spool.close()
        self._opened = False

    def pending(self) -> int:
        """Count deliveries received but not yet processed (those waiting to be retried included)."""
        return len(self._received) + self.intake.pending()

    async def _pending_gauge(self) -> float:
        return float(self.pending())

    async def drain(self, timeout: float = 30) -> None:
        """Wait until every received delivery is processed."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.pending()} webhook deliveries still being processed")
            await asyncio.sleep(0.01)

    async def handle(self, request: web.Request) -> web.Response:
        """Accept one delivery."""
        self._burst.enter()
        try:
            return await self._accept(request)
        finally:
            self._burst.leave()

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
        if not self._opened:
            return _text(503, NOT_STORED)
        headers = request.headers
        answer = asyncio.get_running_loop().create_future()
        self._received.append(
            _Received(
                headers.get("X-GitHub-Delivery", ""),
                headers.get("X-GitHub-Event", ""),
                iso(self._clock.now()),
                body,
                headers.get("X-Hub-Signature-256"),
                answer,
            )
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._store_received(), name="vestry-webhook-store")
        status, text, result = await answer
        if result is not None:
            self.metrics.inc(f'vestry_webhook_deliveries_total{{result="{result}"}}')
        return _text(status, text)

    async def _store_received(self) -> None:
        """Verify and spool waiting deliveries on the spool thread, a batch at a time, then queue the new ones."""
        loop = asyncio.get_running_loop()
        while self._received and self._pool is not None:
            batch, self._received = self._received[:BATCH], self._received[BATCH:]
            try:
                answers, entries = await loop.run_in_executor(self._pool, self._take, batch)
            except Exception:  # a bug, not a full disk (_take answers that): the senders get a 503
                log.exception("storing %d webhook deliveries failed", len(batch))
                answers, entries = [REFUSED] * len(batch), []
            for entry in entries:
                # Queued here, not by the handler, so that a sender hanging up cannot leave it unqueued.
                self.intake.put(entry)
            for item, answer in zip(batch, answers, strict=True):
                if not item.answer.done():
                    item.answer.set_result(answer)

    def _take(self, batch: Sequence[_Received]) -> tuple[list[_Answer], list[Entry]]:
        """On the spool thread: check each delivery, append the new ones to the spool in one write, answer all."""
        answers = [self._check(item) for item in batch]
        wanted = [i for i, answer in enumerate(answers) if answer is ACCEPTED]
        seen = self._seen([batch[i].delivery for i in wanted])
        fresh: dict[str, int] = {}
        for i in wanted:
            delivery = batch[i].delivery
            if delivery in seen or delivery in fresh:
                answers[i] = DUPLICATE
            else:
                fresh[delivery] = i
        if not fresh:
            return answers, []
        items = [batch[i] for i in fresh.values()]
        try:
            entries = self.spool.append([(it.delivery, it.event, it.received_at, it.body) for it in items])
        except OSError as exc:  # full disk, read-only folder: GitHub shows the delivery failed; catch-up polls it
            log.error("webhook deliveries cannot be stored in %s: %s", self.spool.folder, exc)
            for i in fresh.values():
                answers[i] = REFUSED
            return answers, []
        self._remember(list(fresh))
        return answers, entries

    def _check(self, item: _Received) -> _Answer:
        """Verify one delivery (signature first, then headers and shape); ACCEPTED means store it."""
        if self._secret is not None and not signature_ok(self._secret, item.body, item.signature):
            return _Answer(401, "missing or wrong X-Hub-Signature-256", "bad_signature")
        if not item.event or not item.delivery or len(item.delivery) > 100:
            return _Answer(400, "X-GitHub-Event and X-GitHub-Delivery headers are required", None)
        # The body is parsed once, when it is processed: acknowledging stays cheap, so a burst is taken at the
        # speed of the network (benchmarks/RESULTS.md, ingest). What would make it unusable is checked here
        # cheaply, and processing records the rest as the delivery's error.
        body = item.body
        if body.lstrip()[:1] != b"{" or body.rstrip()[-1:] != b"}":
            return _Answer(400, NOT_JSON, None)
        if item.event == "ping":
            return _Answer(200, "pong", None)
        if item.event in APP_EVENTS and self.installations is not None:
            return ACCEPTED
        lowered = body.lower()
        if item.event not in HANDLED_EVENTS or not any(name in lowered for name in self._repos.needles()):
            # No followed repository is named anywhere in the body: not ours (processing checks the exact one).
            log.debug("ignoring %s delivery %s", item.event, item.delivery)
            return _Answer(202, "ignored: not an event or repository Vestry follows", "ignored")
        return ACCEPTED

    def _seen(self, deliveries: list[str]) -> set[str]:
        """Which of these ids were received before: remembered lately, or recorded in the ledger."""
        with self._recent_lock:
            seen = {d for d in deliveries if d in self._recent}
        try:
            return seen | self._recorded([d for d in deliveries if d not in seen])
        except sqlite3.Error as exc:  # processing still records a delivery once: its id is the table's key
            log.debug("could not look up earlier deliveries: %s", exc)
            return seen

    def _recorded(self, deliveries: list[str]) -> set[str]:
        """On the spool thread: which of these ids are in webhook_deliveries (read on its own connection)."""
        if not deliveries or self._db.path == ":memory:":
            return set()
        if self._reader is None:
            uri = Path(self._db.path).resolve().as_uri() + "?mode=ro"
            self._reader = sqlite3.connect(uri, uri=True, check_same_thread=False)
        found: set[str] = set()
        for start in range(0, len(deliveries), BATCH):
            chunk = deliveries[start : start + BATCH]
            sql = f"SELECT delivery_id FROM webhook_deliveries WHERE delivery_id IN ({','.join('?' * len(chunk))})"
            found |= {row[0] for row in self._reader.execute(sql, chunk)}
        return found

    def _remember(self, deliveries: list[str]) -> None:
        with self._recent_lock:
            for delivery in deliveries:
                self._recent[delivery] = None
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
