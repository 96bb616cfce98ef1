"""The dispatcher: perform outbox rows lane by lane, in order within a lane, each lane retrying on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from bot.clock import Clock, monotonic
from bot.db import Database
from bot.db.commits import OUTBOX
from bot.messages import OutMessage
from bot.outbox import store
from bot.outbox.enqueue import posted_message
from bot.outbox.model import POST_KINDS, DiscordSink, PermanentError, TransientError, find_posted
from bot.outbox.store import OutboxRow
from bot.timeutil import parse_iso

log = logging.getLogger(__name__)

# How far before a possible send to look for it: a margin for clocks that disagree a little.
SEARCH_MARGIN = timedelta(minutes=10)


class Dispatcher:
    """Perform outbox rows; lanes back off independently; a row that cannot succeed ends failed, for good.

    Back-off is timed on a monotonic clock, so setting the wall clock back delays nothing. A post that may have
    reached Discord (the process died, or the request timed out, after sending) is looked for in its channel
    before it is sent again, so it is posted once however long the pause: Discord's nonce check lasts minutes.
    """

    MAX_ATTEMPTS = 12
    MAX_BACKOFF = 300.0
    CONCURRENCY = 16

    def __init__(self, db: Database, clock: Clock, sink: DiscordSink, poll_interval: float = 2.0) -> None:
        self._db = db
        self._clock = clock
        self._sink = sink
        self._poll = poll_interval
        self._wake = asyncio.Event()
        db.after_commit(OUTBOX, self.wake)  # every committed side effect wakes the dispatcher
        self._task: asyncio.Task[None] | None = None
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._next_try: dict[str, float] = {}
        self._held: set[str] = set()
        self.delivered = 0
        self.failed = 0
        self.retries = 0
        self.found_posted = 0

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    async def start(self) -> None:
        """Start the background loop."""
        self._task = asyncio.create_task(self._run(), name="vestry-outbox")

    async def stop(self) -> None:
        """Stop the loop and every lane; undone rows stay for the next start."""
        tasks = [t for t in (self._task, *self._lanes.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        self._lanes.clear()

    @contextlib.contextmanager
    def hold(self, dedupe_key: str) -> Iterator[None]:
        """Keep a row (and its lane) waiting while an interaction answer tries to make its post."""
        self._held.add(dedupe_key)
        try:
            yield
        finally:
            self._held.discard(dedupe_key)
            self.wake()

    async def complete(self, dedupe_key: str, result: dict[str, Any]) -> bool:
        """Record a row done by other means (an interaction answer made its post); False if it was done already."""
        done = await store.complete_by_key(self._db, dedupe_key, result, self._clock.now())
        self.delivered += int(done)
        return done

    async def depth(self) -> tuple[int, float]:
        """Return how many rows wait and the age in seconds of the oldest."""
        row = await self._db.fetchone("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE done_at IS NULL")
        count = int(row[0]) if row else 0
        if not count or row is None:
            return 0, 0.0
        oldest = parse_iso(row[1])
        return count, max(0.0, (self._clock.now() - oldest).total_seconds()) if oldest else 0.0

    async def _run(self) -> None:
        while True:
            try:
                delay = await self._launch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox dispatcher failed; retrying")
                delay = self._poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    async def run_once(self) -> float:
        """Perform every due row and wait for the lanes to finish; return how long to wait before looking again."""
        while True:
            delay = await self._launch()
            if not self._lanes:
                return delay
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)

    async def _launch(self) -> float:
        """Start a worker for lanes whose head row is due (at most CONCURRENCY at once); return the wait until the
        next one is. Lanes running or backing off are left out of the query, so they never crowd out the others."""
        now, tick = self._clock.now(), monotonic(self._clock)
        for lane, gate in list(self._next_try.items()):
            if gate <= tick:
                del self._next_try[lane]
        wait = min([self._poll, *(gate - tick for gate in self._next_try.values())])
        room = self.CONCURRENCY - len(self._lanes)
        if room <= 0:
            return max(0.05, wait)
        skip = set(self._lanes) | set(self._next_try)
        for head in await store.lane_heads(self._db, skip=skip, limit=room + len(self._held) + 16):
            if room <= 0:
                break
            if head.dedupe_key in self._held:
                continue
            if not head.due(now):
                wait = min(wait, ((head.not_before or now) - now).total_seconds())
                continue
            self._lanes[head.lane] = asyncio.create_task(self._drain(head), name=f"vestry-outbox:{head.lane}")
            room -= 1
        return max(0.05, wait)

    async def _drain(self, head: OutboxRow) -> None:
        """Perform a lane's rows in order until it is empty, waits for a later time, or must back off."""
        row: OutboxRow | None = head
        try:
            while row is not None and await self._perform(row):
                row = await store.lane_head(self._db, head.lane)
                if row is not None and (row.dedupe_key in self._held or not row.due(self._clock.now())):
                    break
        except Exception:
            log.exception("outbox lane %s failed; retrying it later", head.lane)
            self._next_try[head.lane] = monotonic(self._clock) + self._poll
        finally:
            self._lanes.pop(head.lane, None)
            self.wake()

    async def _perform(self, row: OutboxRow) -> bool:
        """Do one row; return True when it is finished (done or failed), False when its lane must back off."""
        try:
            if row.kind in POST_KINDS and row.sent_at is not None:
                found = await self._find_post_or_none(row)
                if found is not None:
                    log.info("outbox row %s (%s) was already posted; not posting it again", row.id, row.lane)
                    self.found_posted += 1
                    await self._finish(row, found, attempted=False)
                    return True
            if row.kind in POST_KINDS:
                await store.mark_sending(self._db, row, self._clock.now())
            result = await self._do(row)
        except TransientError as exc:
            return await self._retry(row, exc)
        except PermanentError as exc:
            await self._fail(row, row.attempts + 1, str(exc))
            return True
        await self._finish(row, result, attempted=True)
        return True

    async def _find_post_or_none(self, row: OutboxRow) -> dict[str, Any] | None:
        """Look for the row's post; when Discord will not let the bot read the channel, say so and send it."""
        try:
            return await self._find_post(row)
        except PermanentError as exc:
            log.warning(
                "outbox row %s (%s): cannot read the channel to check whether it was posted (%s); sending it, "
                "which may repeat it: give the bot Read Message History",
                row.id,
                row.lane,
                exc,
            )
            return None

    async def _find_post(self, row: OutboxRow) -> dict[str, Any] | None:
        """Look in the row's channel for its own post, made by an attempt whose outcome was never recorded."""
        assert row.sent_at is not None
        since = row.sent_at - SEARCH_MARGIN
        channel_id = int(row.payload["channel_id"]) if row.kind == "message" else None
        user_id = int(row.payload["user_id"]) if row.kind == "dm" else None
        seen = await self._sink.recent_messages(channel_id, user_id, since)
        claimed = await store.claimed_messages(self._db, row.lane, since)
        message = OutMessage.from_json(row.payload["message"])
        found = find_posted(seen, bot_id=self._sink.own_id(), nonce=row.nonce, message=message, claimed=claimed)
        return None if found is None else {"channel_id": channel_id or 0, "message_id": found}

    async def _finish(self, row: OutboxRow, result: dict[str, Any], *, attempted: bool) -> None:
        if await store.mark_done(self._db, row.id, result, self._clock.now(), attempted=attempted):
            self.delivered += 1

    async def _retry(self, row: OutboxRow, exc: TransientError) -> bool:
        attempts = row.attempts + 1
        if attempts >= self.MAX_ATTEMPTS:
            await self._fail(row, attempts, f"gave up after {attempts} attempts: {exc}")
            return True
        backoff = exc.retry_after or min(self.MAX_BACKOFF, 2.0 ** min(attempts, 9) * (0.5 + random.random()))
        self._next_try[row.lane] = monotonic(self._clock) + backoff
        self.retries += 1
        log.warning("outbox row %s (%s, %s) will retry in %.1fs: %s", row.id, row.kind, row.lane, backoff, exc)
        await store.mark_retry(self._db, row.id, attempts, str(exc), maybe_sent=exc.maybe_sent)
        return False

    async def _fail(self, row: OutboxRow, attempts: int, error: str) -> None:
        self.failed += 1
        log.error(
            "outbox row %s (%s, %s) failed for good: %s; /vestry outbox retry:%s tries it again",
            row.id,
            row.kind,
            row.lane,
            error,
            row.id,
        )
        await store.mark_failed(self._db, row.id, attempts, error, self._clock.now())

    async def _do(self, row: OutboxRow) -> dict[str, Any]:
        kind, payload = row.kind, row.payload
        if kind == "message":
            message = OutMessage.from_json(payload["message"])
            message_id = await self._sink.send_message(int(payload["channel_id"]), message, row.nonce)
            return {"channel_id": payload["channel_id"], "message_id": message_id}
        if kind == "dm":
            message = OutMessage.from_json(payload["message"])
            return {
                "message_id": await self._sink.send_dm(int(payload["user_id"]), message, row.nonce),
                "channel_id": 0,
            }
        if kind in {"role_add", "role_remove"}:
            action = self._sink.add_role if kind == "role_add" else self._sink.remove_role
            await action(
                int(payload["guild_id"]), int(payload["user_id"]), int(payload["role_id"]), payload.get("reason", "")
            )
            return {}
        if kind == "message_edit":
            await self._edit(payload)
            return {}
        if kind in {"reaction_add", "reaction_remove"}:
            react = self._sink.add_reaction if kind == "reaction_add" else self._sink.remove_reaction
            await react(int(payload["channel_id"]), int(payload["message_id"]), str(payload["emoji"]))
            return {}
        raise PermanentError(f"unknown outbox kind {kind!r}")

    async def _edit(self, payload: dict[str, Any]) -> None:
        target = await posted_message(self._db, payload["target_key"])
        if target is None:
            pending = await self._db.fetchval(
                "SELECT 1 FROM outbox WHERE dedupe_key = ? AND done_at IS NULL", (payload["target_key"],)
            )
            if pending:
                raise TransientError("the message to edit is not posted yet", retry_after=1)
            raise PermanentError(f"no posted message for {payload['target_key']}")
        await self._sink.edit_message(target.channel_id, target.message_id, OutMessage.from_json(payload["message"]))
