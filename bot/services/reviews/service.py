"""ReviewQueue: find pull requests waiting for review and remind the right people, once per scheduled slot."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from bot.clock import Clock
from bot.config.models import Settings
from bot.config.types import parse_duration
from bot.db import Database
from bot.errors import PermissionDenied, UserFacingError
from bot.i18n import Lang
from bot.i18n.server import posts_lang
from bot.messages import OutMessage
from bot.outbox import enqueue_dm, enqueue_message
from bot.services.reviews.models import NudgeResult, QueueSnapshot, ReviewerGroup, matches_button, reviewer_key
from bot.services.reviews.queue import QueueReader
from bot.services.reviews.render import dm_message, nudge_post
from bot.services.reviews.schedule import NudgeSchedule
from bot.timeutil import iso

log = logging.getLogger(__name__)

JOB = "reviews.nudge"
SNOOZE = timedelta(days=1)
MAX_AWAY = timedelta(days=366)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Mode = Literal["scheduled", "release", "catch-up"]


@dataclass(frozen=True)
class Clicker:
    """Who pressed a nudge button: their member id, whether they are a maintainer, and their roles."""

    discord_id: int
    maintainer: bool = False
    role_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Target:
    """The reviewer a button acts for."""

    key: str
    name: str
    discord_id: int | None = None
    role_id: int | None = None


@dataclass(frozen=True)
class Acknowledged:
    """What "On it" did: the reviewer, the pull requests it covers, and until when."""

    target: Target
    pulls: list[str]
    until: datetime
    rows: list[tuple[str, int, str]]
    by_id: int
    at: datetime


def parse_until(text: str, now: datetime, tz: str) -> datetime:
    """Read /away's ``until``: a date (away through that day, in ``tz``) or a duration such as "3d"."""
    from zoneinfo import ZoneInfo

    value = text.strip()
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise UserFacingError(f"{value} is not a real date; write it as YYYY-MM-DD, e.g. 2026-03-20.") from None
        if day > (now + MAX_AWAY).date():  # also keeps 9999-12-31 from overflowing below
            raise UserFacingError(f"You can be away for at most a year: pick a date up to {(now + MAX_AWAY):%Y-%m-%d}.")
        until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    else:
        try:
            length = parse_duration(value)
        except ValueError as exc:
            if "too long" in str(exc):
                raise UserFacingError(
                    f"You can be away for at most a year: pick a duration up to 52w or a date up to "
                    f"{(now + MAX_AWAY):%Y-%m-%d}."
                ) from None
            raise UserFacingError(
                f"I couldn't read {value[:40]!r}: give a date like 2026-03-20 or a duration like 3d or 2w."
            ) from None
        if length > MAX_AWAY:
            raise UserFacingError(f"You can be away for at most a year: pick a date up to {(now + MAX_AWAY):%Y-%m-%d}.")
        until = now + length
    if until <= now:
        raise UserFacingError("That is not in the future: give a later date (YYYY-MM-DD) or a duration like 3d.")
    if until > now + MAX_AWAY:
        raise UserFacingError(f"You can be away for at most a year: pick a date up to {(now + MAX_AWAY):%Y-%m-%d}.")
    return until


class ReviewQueue:
    """The review queue, the scheduled nudges, and reviewers' snoozes, acknowledgements and leave."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self.reader = QueueReader(db, settings)
        reviews = settings.reviews
        quiet = (reviews.quiet_hours.start, reviews.quiet_hours.end) if reviews.quiet_hours else None
        self.schedule = NudgeSchedule(reviews.schedule, reviews.timezone, quiet, reviews.quiet_days)

    @property
    def guild_id(self) -> int:
        """The server the queue belongs to."""
        return self._settings.discord.guild_id

    async def queue(
        self, *, member: int | None = None, member_roles: Iterable[int] = (), repo: str | None = None
    ) -> QueueSnapshot:
        """Return the review queue now (``.count``, ``.oldest``, rows), optionally one member's or one repo's."""
        if repo is not None:
            repo = self._followed_repo(repo)
        snapshot = await self.reader.read(self._clock.now(), repo=repo)
        if member is None:
            return snapshot
        return snapshot.only(await self._member_keys(member, member_roles))

    def _followed_repo(self, repo: str) -> str:
        for followed in self._settings.github.repositories:
            if followed.lower() == repo.strip().lower():
                return followed
        known = ", ".join(self._settings.github.repositories)
        raise UserFacingError(f"Vestry does not follow {repo.strip()[:100]!r}; pick one of: {known}.")

    async def _member_keys(self, member: int, roles: Iterable[int]) -> set[str]:
        link = await self._db.fetchval(
            "SELECT github_id FROM links WHERE guild_id = ? AND discord_id = ?", (self.guild_id, member)
        )
        role_set = set(roles)
        teams = self._settings.reviews.team_roles.items()
        keys = {reviewer_key("team", slug) for slug, role in teams if role in role_set}
        if link is not None:
            keys.add(reviewer_key("user", str(link)))
        if not keys:
            raise UserFacingError(
                "That member hasn't linked a GitHub account, so I can't tell which reviews wait on them: "
                "they can link one with /link."
            )
        return keys

    # The nudge job -------------------------------------------------------------------------------------------

    async def nudge(self, mode: Mode = "scheduled") -> NudgeResult:
        """Post the reminder for the current slot unless it is quiet, not due, or already posted.

        ``scheduled`` (the cron job and manual runs) posts the current slot; ``release`` (when quiet hours
        end) posts a slot that quiet hours held back; ``catch-up`` (start-up) posts a missed slot within grace.
        """
        now = self._clock.now()
        reviews = self._settings.reviews
        slot = self.schedule.slot_at(now)
        if not reviews.enabled:
            return NudgeResult(slot, "disabled")
        if slot is None:
            return NudgeResult(None, "not-due")
        if self.schedule.is_quiet(now):
            return NudgeResult(slot, "quiet")
        if self.schedule.on_quiet_day(slot):
            return NudgeResult(slot, "quiet-day")
        if mode != "scheduled":
            released = self.schedule.release_time(slot)
            deferred_only = mode == "release" and released == slot
            if released is None or deferred_only or now - released > reviews.grace:
                return NudgeResult(slot, "not-due")
        if await self._db.fetchval("SELECT 1 FROM job_slots WHERE job = ? AND slot = ?", (JOB, iso(slot))):
            return NudgeResult(slot, "already-posted")
        return await self._post(slot, now)

    async def _post(self, slot: datetime, now: datetime) -> NudgeResult:
        reviews = self._settings.reviews
        # Snoozes and "On it" are judged at the slot, so a deferred post hides the same rows it would have.
        snapshot = (await self.reader.read(now)).only(overdue=True, visible_at=slot)
        if not snapshot.items:
            return NudgeResult(slot, "nothing-waiting")
        speaker = await posts_lang(self._db, self._settings)
        post = nudge_post(
            snapshot,
            max_rows=reviews.max_rows,
            approvals_needed=reviews.approvals_needed,
            escalate_after=reviews.escalate_after,
            maintainer_role_id=self._settings.discord.maintainer_role_id,
            speaker=speaker,
        )
        dms = [
            (group.reviewer.discord_id, self._dm(group, now, snapshot.business_time, speaker))
            for group in snapshot.groups()
            if group.reviewer.dm and group.reviewer.discord_id is not None and not group.reviewer.away(now)
        ]
        if not await self._enqueue(slot, now, post.messages, dms):
            return NudgeResult(slot, "already-posted")
        log.info("review nudge for %s: %d rows, %d DMs", iso(slot), post.rows, len(dms))
        return NudgeResult(slot, "posted", post.rows, post.users, post.roles, len(dms))

    def _dm(self, group: ReviewerGroup, now: datetime, business: bool, speaker: Lang) -> OutMessage:
        reviews = self._settings.reviews
        return dm_message(
            group,
            at=now,
            max_rows=reviews.max_rows,
            business=business,
            approvals_needed=reviews.approvals_needed,
            speaker=speaker,
        )

    async def _enqueue(
        self, slot: datetime, now: datetime, messages: list[OutMessage], dms: list[tuple[int, OutMessage]]
    ) -> bool:
        """Record the slot and queue its posts in one transaction; False when the slot was already done."""
        key = f"nudge:{self.guild_id}:{iso(slot)}"
        channel = self._settings.discord.channels.reviews
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO job_slots(job, slot, done_at) VALUES (?, ?, ?)", (JOB, iso(slot), iso(now))
            )
            if cursor.rowcount != 1:
                return False
            if channel is None:
                log.warning("review nudge for %s has no channel: set discord.channels.reviews", iso(slot))
            else:
                for index, message in enumerate(messages):
                    await enqueue_message(conn, key if index == 0 else f"{key}:{index + 1}", channel, message, now=now)
            for user_id, message in dms:
                await enqueue_dm(conn, f"nudge-dm:{self.guild_id}:{iso(slot)}:{user_id}", user_id, message, now=now)
        return True

    # Buttons ------------------------------------------------------------------------------------------------

    async def resolve_button(self, short: str) -> str:
        """Turn a button's short key back into the reviewer key (a team's is looked up among waiting teams)."""
        if not short.startswith("t:"):
            return short
        keys = {item.reviewer.key for item in (await self.reader.read(self._clock.now())).items}
        keys.update(reviewer_key("team", slug) for slug in self._settings.reviews.team_roles)
        found = next((key for key in keys if matches_button(key, short)), None)
        if found is None:
            raise UserFacingError("Nothing is waiting on this team any more; use /reviews to see the queue.")
        return found

    async def target(self, key: str) -> Target:
        """Find the reviewer a button's key names."""
        key = await self.resolve_button(key)
        kind, _, name = key.partition(":")
        if kind == "team" and name:
            return Target(key, f"team {name}", role_id=self._settings.reviews.team_roles.get(name))
        if kind == "user" and name.isdigit():
            row = await self._db.fetchone(
                "SELECT u.login, l.discord_id FROM github_users u LEFT JOIN links l ON l.github_id = u.id "
                "AND l.guild_id = ? WHERE u.id = ?",
                (self.guild_id, int(name)),
            )
            if row is not None:
                return Target(key, row["login"], discord_id=row["discord_id"])
        raise UserFacingError("This button no longer matches a reviewer; use /reviews to see the queue.")

    def authorize(self, target: Target, clicker: Clicker) -> None:
        """Let only the reviewer (through their link, or their team's role) or a maintainer press their buttons."""
        if clicker.maintainer:
            return
        if target.discord_id is not None and target.discord_id == clicker.discord_id:
            return
        if target.role_id is not None and target.role_id in clicker.role_ids:
            return
        if target.key.startswith("team:"):
            who = "members of the team's role" if target.role_id else "maintainers"
            raise PermissionDenied(f"These buttons are for {target.name}: only {who} can use them.")
        raise PermissionDenied(
            f"These buttons are for {target.name} (linked through /link) or a maintainer, so I left them alone."
        )

    async def snooze(self, key: str, clicker: Clicker) -> tuple[Target, datetime]:
        """Leave a reviewer out of nudges for a day, and always out of the next one (a Friday snooze covers Monday)."""
        target = await self.target(key)
        self.authorize(target, clicker)
        key = target.key
        now = self._clock.now()
        until = now + SNOOZE
        following = self.schedule.next_posting_slot(now)
        if following is not None:
            until = max(until, following + timedelta(minutes=1))
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO snoozes(guild_id, reviewer, until) VALUES (?, ?, ?) "
                "ON CONFLICT(guild_id, reviewer) DO UPDATE SET until = excluded.until",
                (self.guild_id, key, iso(until)),
            )
        return target, until

    async def on_it(self, key: str, clicker: Clicker) -> Acknowledged:
        """Acknowledge a reviewer's waiting requests: out of nudges for ``on_it_for``, or until re-requested."""
        plan = await self.plan_on_it(key, clicker)
        await self.record_on_it(plan)
        return plan

    async def plan_on_it(self, key: str, clicker: Clicker) -> Acknowledged:
        """Work out what "On it" covers, without recording it (the cog records once its answer is given)."""
        target = await self.target(key)
        self.authorize(target, clicker)
        now = self._clock.now()
        until = now + self._settings.reviews.on_it_for
        items = (await self.reader.read(now)).only({target.key}).items
        rows = [(i.pull.repo, i.pull.number, iso(i.requested_at)) for i in items]
        pulls = [f"{i.pull.repo}#{i.pull.number}" for i in items]
        return Acknowledged(target, pulls, until, rows=rows, by_id=clicker.discord_id, at=now)

    async def record_on_it(self, plan: Acknowledged) -> None:
        """Record the acknowledgements an "On it" answer announced."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM review_acks WHERE guild_id = ? AND until < ?", (self.guild_id, iso(plan.at))
            )
            await conn.executemany(
                "INSERT INTO review_acks(guild_id, reviewer, repo, number, requested_at, until, by_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(guild_id, reviewer, repo, number) DO UPDATE SET "
                "requested_at = excluded.requested_at, until = excluded.until, by_id = excluded.by_id, "
                "at = excluded.at",
                [
                    (self.guild_id, plan.target.key, repo, number, requested, iso(plan.until), plan.by_id, iso(plan.at))
                    for repo, number, requested in plan.rows
                ],
            )

    # Reviewers' preferences -----------------------------------------------------------------------------------

    async def set_away(self, discord_id: int, until_text: str) -> tuple[datetime, bool]:
        """Mark a member away until a date or for a duration; return the end and whether they are linked."""
        until = parse_until(until_text, self._clock.now(), self._settings.reviews.timezone)
        await self._db.execute(
            "INSERT INTO reviewer_prefs(guild_id, discord_id, away_until) VALUES (?, ?, ?) "
            "ON CONFLICT(guild_id, discord_id) DO UPDATE SET away_until = excluded.away_until",
            (self.guild_id, discord_id, iso(until)),
        )
        return until, await self._linked(discord_id)

    async def back(self, discord_id: int) -> bool:
        """End a member's leave; return whether they were away."""
        was = await self._db.fetchval(
            "SELECT away_until FROM reviewer_prefs WHERE guild_id = ? AND discord_id = ?", (self.guild_id, discord_id)
        )
        await self._db.execute(
            "UPDATE reviewer_prefs SET away_until = NULL WHERE guild_id = ? AND discord_id = ?",
            (self.guild_id, discord_id),
        )
        return was is not None and was > iso(self._clock.now())

    async def set_dm(self, discord_id: int, on: bool) -> bool:
        """Turn a member's own nudge DMs on or off; return whether they are linked."""
        await self._db.execute(
            "INSERT INTO reviewer_prefs(guild_id, discord_id, dm) VALUES (?, ?, ?) "
            "ON CONFLICT(guild_id, discord_id) DO UPDATE SET dm = excluded.dm",
            (self.guild_id, discord_id, int(on)),
        )
        return await self._linked(discord_id)

    async def _linked(self, discord_id: int) -> bool:
        return bool(
            await self._db.fetchval(
                "SELECT 1 FROM links WHERE guild_id = ? AND discord_id = ?", (self.guild_id, discord_id)
            )
        )
