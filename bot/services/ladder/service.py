"""The contributor ladder: roles that follow contributions, promotions people can see, drift repaired."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot import events as ev
from bot.clock import Clock
from bot.config.models import Settings
from bot.db import Database
from bot.domain import (
    DomainEvent,
    IssueClosed,
    KudosGiven,
    MemberLinked,
    MemberUnlinked,
    PullMerged,
    Recognized,
    ReviewSubmitted,
    Starred,
)
from bot.errors import UserFacingError
from bot.i18n import ENGLISH, Lang
from bot.messages import mention
from bot.services.ladder import posts, rules, store
from bot.services.ladder.engine import Engine, MemberState, Standing
from bot.services.ladder.leaderboard import Leaderboard
from bot.services.ladder.reconcile import MemberDirectory, Reconciler, ReconcileReport
from bot.services.ladder.repair import repair
from bot.services.stats import Contributions
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

PAGE = 500
LIVE_SINCE = "ladder:live_since"


@dataclass(frozen=True)
class TierProgress:
    """Where a member is on the ladder, the next tier, and exactly what is missing for it."""

    discord_id: int
    linked: bool
    login: str | None
    current: str | None
    next: str | None
    missing: tuple[str, ...]
    awaiting_approval: bool = False
    excluded: bool = False
    enabled: bool = True
    contributions: Contributions = field(default_factory=Contributions)

    def say(self, speaker: Lang) -> str:
        """Say the progress in one line, for /profile, in ``speaker``'s language."""
        if not self.enabled:
            return speaker.gettext("The contributor ladder is turned off.")
        if not self.linked:
            return speaker.gettext("Not on the ladder yet: link a GitHub account with /link.")
        if self.excluded:
            return speaker.gettext("This GitHub account is a bot or ignored, so it is not on the ladder.")
        if self.current is None and self.next is None:
            return speaker.gettext("Not on the ladder yet")
        if self.next is None:
            return speaker.gettext("**{tier}** (the top of the ladder)", tier=self.current)
        missing = "; ".join(self.missing) or speaker.gettext("nothing missing")
        if self.current is None:
            return speaker.gettext(
                "Not on the ladder yet; next: **{next}** ({missing})", next=self.next, missing=missing
            )
        return speaker.gettext(
            "**{tier}**; next: **{next}** ({missing})", tier=self.current, next=self.next, missing=missing
        )

    @property
    def summary(self) -> str:
        """Say the progress in one line, for /profile."""
        if not self.enabled:
            return "The contributor ladder is turned off."
        if not self.linked:
            return "Not on the ladder yet: link a GitHub account with /link."
        if self.excluded:
            return "This GitHub account is a bot or ignored, so it is not on the ladder."
        text = f"**{self.current}**" if self.current else "Not on the ladder yet"
        if self.next is None:
            return text + " (the top of the ladder)"
        return f"{text}; next: **{self.next}** ({'; '.join(self.missing) or 'nothing missing'})"


@dataclass(frozen=True)
class Decision:
    """A maintainer's answer to a promotion request."""

    request_id: int
    discord_id: int
    tier: str
    approved: bool
    by: int
    promoted: bool

    @property
    def text(self) -> str:
        """Say the decision in English, to replace the request's post."""
        return self.say(ENGLISH)

    def say(self, speaker: Lang) -> str:
        """Say the decision in the channel's language, to replace the request's post."""
        if self.approved and not self.promoted:
            return speaker.gettext(
                "✅ {by} approved: {member} is now a **{tier}**. ({member} no longer meets its criteria; the role "
                "follows when they do.)",
                by=mention(self.by),
                member=mention(self.discord_id),
                tier=self.tier,
            )
        return posts.decision_text(self.discord_id, self.tier, self.approved, self.by, speaker)


class Ladder:
    """Promote members as facts arrive, reconcile roles with what is earned, answer /rank."""

    name = "ladder"

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._engine = Engine(db, clock, settings)
        self.leaderboard = Leaderboard(db, clock)
        self._live_since: datetime | None = None

    @property
    def _active(self) -> bool:
        return self._settings.ladder.enabled and bool(self._settings.ladder.tiers)

    # -- events ----------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Remember when the ladder first ran: events logged before it are history (placed, never announced)."""
        now = self._engine.now()
        await self._db.execute("INSERT OR IGNORE INTO state(key, value) VALUES (?, ?)", (LIVE_SINCE, iso(now)))
        self._live_since = parse_iso(await self._db.get_state(LIVE_SINCE))

    def _is_news(self, event: ev.Event) -> bool:
        if event.historical:
            return False
        return self._live_since is None or event.created_at >= self._live_since

    async def handle(self, conn: aiosqlite.Connection, events: Sequence[ev.Event]) -> None:
        """Evaluate every member an event concerns; a historical event never causes an announcement."""
        if not self._active:
            return
        guild = self._engine.guild_id
        ours = [event for event in events if getattr(event.data, "guild_id", guild) == guild]
        # The members linked to the accounts the batch names, in one read (not one per event).
        linked = await store.members_by_account(conn, guild, [a for event in ours for a in _accounts_of(event.data)])
        due: dict[int, bool] = {}
        for event in ours:
            if isinstance(event.data, MemberUnlinked):
                due.pop(event.data.discord_id, None)
                await self._engine.unlinked(conn, guild, event.data.discord_id)
            else:
                news = self._is_news(event)
                for member in _members_of(event.data, linked):
                    due[member] = due.get(member, False) or news
        placed = 0
        for member, live in due.items():
            standing = await self._engine.standing(conn, guild, member)
            if standing.eligible:
                placed += (await self._engine.advance(conn, standing, live=live)).silent
        await self._engine.note_placements(conn, placed)

    async def _rejoined(self, conn: aiosqlite.Connection, discord_id: int, state: MemberState) -> None:
        standing = await self._engine.standing(conn, self._engine.guild_id, discord_id)
        if standing.eligible:
            outcome = await repair(self._engine, conn, standing, state, lambda _role: None)
            await self._engine.note_placements(conn, int(outcome.placed))

    async def member_joined(self, discord_id: int, state: MemberState) -> None:
        """Give a (re)joining member back the roles they had earned."""
        if not self._active:
            return
        async with self._db.transaction() as conn:
            await self._rejoined(conn, discord_id, state)

    # -- reconcile -------------------------------------------------------------------------------------

    async def reconcile(self, directory: MemberDirectory) -> ReconcileReport:
        """Compare every linked member's roles with what they earned and repair the drift."""
        if not self._active:
            return ReconcileReport()
        report = await Reconciler(self._db, self._engine).run(directory)
        for role, count in sorted(report.waiting.items()):
            problem = directory.role_problem(role) or f"role {role} cannot be managed"
            report.problems.append(f"{problem}; {count} member(s) wait for it")
            log.warning("ladder: %s; %d member(s) wait for it", problem, count)
        log.info(
            "ladder reconcile: %d checked in %d batch(es), %d not in the server, %d placed, %d role(s) added, "
            "%d removed, %d failed%s",
            report.checked,
            report.batches,
            report.absent,
            report.placed,
            report.added,
            report.removed,
            report.failed,
            " (stopped early)" if report.stopped else "",
        )
        return report

    # -- approvals -------------------------------------------------------------------------------------

    async def decide(self, guild_id: int, request_id: int, *, approve: bool, by: int) -> Decision:
        """Record a maintainer's Approve or Decline; an approval promotes the member at once."""
        async with self._db.transaction() as conn:
            request = await store.request_by_id(conn, request_id)
            if request is None or request.guild_id != guild_id:
                raise UserFacingError(
                    "This promotion request no longer exists (the member may have unlinked their GitHub account)."
                )
            status = rules.APPROVED if approve else rules.DECLINED
            if not await store.decide_request(conn, request_id, status, by, self._engine.now()):
                who = f" by {mention(request.decided_by)}" if request.decided_by else ""
                raise UserFacingError(f"This promotion was already {request.status}{who}.")
            promoted = False
            if approve:
                standing = await self._engine.standing(conn, guild_id, request.discord_id)
                if standing.eligible:
                    await self._engine.advance(conn, standing, live=True)
                    promoted = request.tier in standing.held
        log.info("ladder: %s %s promotion of %s to %s", by, status, request.discord_id, request.tier)
        return Decision(request_id, request.discord_id, request.tier, approve, by, promoted)

    # -- reading ---------------------------------------------------------------------------------------

    async def progress(self, guild_id: int, discord_id: int, speaker: Lang = ENGLISH) -> TierProgress:
        """Return the member's current tier, the next one, and what is missing for it."""
        config = self._settings.ladder
        if not self._active:
            return TierProgress(discord_id, False, None, None, None, (), enabled=False)
        standing = await self._engine.standing(self._db.conn, guild_id, discord_id)
        link = standing.link
        if link is None:
            first = config.tiers[0]
            needs = rules.missing(first.criteria, standing.contributions[first.criteria.window], False, speaker)
            needs = needs or [speaker.gettext("link with /link")]
            return TierProgress(discord_id, False, None, None, first.name, tuple(needs))
        if link.excluded:
            return TierProgress(discord_id, True, link.login, None, None, (), excluded=True)
        return _progress(self._engine, standing, speaker)


def _progress(engine: Engine, standing: Standing, speaker: Lang) -> TierProgress:
    tiers = engine.config.tiers
    climb = engine.climb(standing)
    basis = set(climb.reached)
    if engine.config.demotion == "sticky":
        basis |= set(engine.held(standing))
    top = max(basis, default=None)
    start = 0 if top is None else top + 1
    upcoming = next((i for i in range(start, len(tiers)) if i not in basis), None)
    missing: tuple[str, ...] = ()
    waiting = False
    if upcoming is not None:
        tier = tiers[upcoming]
        missing = tuple(rules.missing(tier.criteria, standing.contributions[tier.criteria.window], True, speaker))
        if not missing and tier.approval:
            status = standing.approvals.get(tier.name)
            waiting = status in (None, rules.PENDING)
            missing = (
                speaker.gettext("a maintainer's approval")
                if waiting
                else speaker.gettext("a maintainer's approval (declined)"),
            )
    assert standing.link is not None
    return TierProgress(
        standing.discord_id,
        True,
        standing.link.login,
        None if top is None else tiers[top].name,
        None if upcoming is None else tiers[upcoming].name,
        missing,
        awaiting_approval=waiting,
        contributions=standing.contributions[None],
    )


def _accounts_of(event: DomainEvent) -> list[int]:
    """The GitHub accounts whose linked members' standing an event may change."""
    match event:
        case PullMerged(author_id=author, merged_by_id=merger):
            return [a for a in (author, merger) if a is not None]
        case ReviewSubmitted(reviewer_id=reviewer):
            return [reviewer] if reviewer is not None else []
        case IssueClosed(closed_by_id=closer):
            return [closer] if closer is not None else []
        case Starred(user_id=user):
            return [user] if user is not None else []
        case _:
            return []


def _members_of(event: DomainEvent, linked: Mapping[int, int]) -> list[int]:
    """The members whose standing an event may change: those linked to the accounts it names, or those it names."""
    match event:
        case MemberLinked(discord_id=member) | KudosGiven(receiver_id=member) | Recognized(member_id=member):
            return [member]
        case _:
            return list(dict.fromkeys(linked[a] for a in _accounts_of(event) if a in linked))
