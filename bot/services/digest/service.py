"""The digest service: decide which period to report, build the post, and queue it exactly once per slot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.errors import UserFacingError
from bot.i18n import ENGLISH, Lang
from bot.i18n.server import posts_lang
from bot.messages import OutMessage, Reply
from bot.outbox import enqueue_message
from bot.services.digest.chart import render_chart_in_worker
from bot.services.digest.model import DigestData, Ref, Waiting
from bot.services.digest.periods import Period, Schedule
from bot.services.digest.render import render_digest, render_quiet, span_text, unit_of
from bot.services.digest.stats import DigestStats, Queue
from bot.services.reviews import ReviewQueue
from bot.timeutil import iso

log = logging.getLogger(__name__)

JOB = "digest.weekly"
Status = Literal["posted", "quiet_skipped", "already_done", "missed", "before_go_live", "no_slot", "no_channel", "off"]


@dataclass(frozen=True)
class RunOutcome:
    """What one scheduled run did, and for which period."""

    status: Status
    period: Period | None = None


@dataclass(frozen=True)
class Posted:
    """A digest queued for posting by hand."""

    period: Period
    channel_id: int
    dedupe_key: str


class Digest:
    """Compute the community's period from the ledger and post it: on schedule once per slot, or on demand."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        go_live: Callable[[], Awaitable[datetime]],
        reviews: ReviewQueue | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._go_live = go_live
        self._reviews = reviews  # the queue the review nudges use, so both tell the same story
        digest = settings.digest
        self.schedule = Schedule(digest.schedule, digest.timezone, digest.period)
        self._stats = DigestStats(
            db, self.schedule, settings.discord.guild_id, settings.github.repositories, digest.good_first_issue_labels
        )

    @property
    def guild_id(self) -> int:
        """The server the digest is for."""
        return self._settings.discord.guild_id

    def period(self, spec: str | None) -> Period:
        """Resolve a command's period option ("this", "last" or YYYY-MM-DD); raise UserFacingError if unclear."""
        return self.schedule.resolve(spec, self._clock.now())

    async def build(self, period: Period) -> DigestData:
        """Compute everything the digest of ``period`` reports."""
        return await self._stats.collect(period, self._clock.now(), await self._review_queue())

    async def _review_queue(self) -> Queue | None:
        """Read the queue the review nudges use, so both tell the same story; None without that feature."""
        source = self._reviews
        if source is None:
            return None
        try:
            snapshot = await source.queue()
        except Exception:
            log.exception("reading the review queue failed; the digest counts waiting PRs itself")
            return None
        oldest = snapshot.oldest
        if oldest is None:
            return snapshot.count, None
        pull = oldest.pull
        return snapshot.count, Waiting(Ref(pull.repo, pull.number, pull.title, pull.url), oldest.requested_at)

    async def message(self, period: Period, *, quiet_post: bool = False) -> tuple[DigestData, OutMessage | None]:
        """Build the post for ``period``; None for a quiet one set to be skipped (unless ``quiet_post``)."""
        data = await self.build(period)
        settings, speaker = self._settings.digest, await posts_lang(self._db, self._settings)
        if not data.activity(list(settings.sections)):
            quiet = quiet_post or settings.quiet_week == "short"
            return data, render_quiet(data, settings, speaker) if quiet else None
        return data, render_digest(data, settings, await self._chart(data), speaker)

    async def _chart(self, data: DigestData) -> bytes | None:
        if not self._settings.digest.chart or data.chart is None:
            return None
        try:
            return await render_chart_in_worker(data.chart, self._settings.digest.timezone, unit_of(data.period))
        except Exception:
            # A digest without its picture beats no digest at all.
            log.exception("drawing the digest chart failed; posting without it")
            return None

    async def preview(self, spec: str | None, speaker: Lang = ENGLISH) -> Reply:
        """Show a maintainer the digest of a period, as it would be posted, only to them (the note on top in
        ``speaker``'s language, the digest in the channel's)."""
        period = self.period(spec)
        data, message = await self.message(period, quiet_post=True)
        assert message is not None
        span = span_text(period, self._settings.digest.timezone, speaker)
        running = data.in_progress
        skipped = not data.activity(list(self._settings.digest.sections)) and self._settings.digest.quiet_week == "skip"
        if running and skipped:
            note = speaker.gettext(
                "*Preview of the digest for {span} (the period is still running: numbers so far); a quiet period: "
                'with quiet_week = "skip" nothing is posted.*',
                span=span,
            )
        elif running:
            note = speaker.gettext(
                "*Preview of the digest for {span} (the period is still running: numbers so far).*", span=span
            )
        elif skipped:
            note = speaker.gettext(
                '*Preview of the digest for {span}; a quiet period: with quiet_week = "skip" nothing is posted.*',
                span=span,
            )
        else:
            note = speaker.gettext("*Preview of the digest for {span}.*", span=span)
        return Reply(
            content=f"{note}\n{message.content}"[:2000], embeds=list(message.embeds), files=list(message.files)
        )

    async def post_now(self, spec: str | None, request_id: str) -> Posted:
        """Queue the digest of a period for the digest channel now, apart from the scheduled one."""
        channel = self._settings.discord.channels.digest
        if channel is None:
            raise UserFacingError("No digest channel is set: add `digest = <channel id>` under [discord.channels].")
        period = self.period(spec)
        _, message = await self.message(period, quiet_post=True)
        assert message is not None
        key = f"digest-post:{self.guild_id}:{request_id}"
        async with self._db.transaction() as conn:
            await enqueue_message(conn, key, channel, message, now=self._clock.now())
        return Posted(period, channel, key)

    async def run_scheduled(self) -> RunOutcome:
        """Post the digest of the period that ended at the latest slot, once, if that slot is recent enough.

        The scheduler calls this at each slot; start-up calls it too, which catches up a slot missed while
        the bot was down as long as it is within ``digest.grace``.
        """
        settings = self._settings.digest
        if not settings.enabled:
            return RunOutcome("off")
        now = self._clock.now()
        slot = self.schedule.latest_slot(now)
        if slot is None:
            return RunOutcome("no_slot")
        period = self.schedule.ending_at(slot)
        if now - slot > settings.grace:
            log.info("digest slot %s is older than the grace period; waiting for the next one", iso(slot))
            return RunOutcome("missed", period)
        if slot < await self._go_live():
            return RunOutcome("before_go_live", period)
        channel = self._settings.discord.channels.digest
        if channel is None:
            log.warning("no digest channel is configured; the digest for %s is not posted", iso(slot))
            return RunOutcome("no_channel", period)
        if await self._slot_done(slot):
            return RunOutcome("already_done", period)
        _, message = await self.message(period)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO job_slots(job, slot, done_at) VALUES (?, ?, ?)", (JOB, iso(slot), iso(now))
            )
            if cursor.rowcount != 1:
                return RunOutcome("already_done", period)
            if message is not None:
                await enqueue_message(conn, self.dedupe_key(slot), channel, message, now=now)
        status: Status = "posted" if message is not None else "quiet_skipped"
        log.info("digest for the period ending %s: %s", iso(slot), status)
        return RunOutcome(status, period)

    def dedupe_key(self, slot: datetime) -> str:
        """Return the outbox key of the scheduled digest for the period ending at ``slot``."""
        return f"digest:{self.guild_id}:{iso(slot)}"

    async def _slot_done(self, slot: datetime) -> bool:
        done = await self._db.fetchval("SELECT 1 FROM job_slots WHERE job = ? AND slot = ?", (JOB, iso(slot)))
        return done is not None
