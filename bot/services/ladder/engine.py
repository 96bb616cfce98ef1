"""The ladder's decisions, written inside the caller's transaction: grants, role changes, posts, requests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosqlite

from bot.clock import Clock
from bot.config.models import LadderSettings, Settings, Tier
from bot.db import Database
from bot.i18n.server import channel_lang, template_for
from bot.outbox import enqueue_dm, enqueue_edit, enqueue_message, enqueue_role
from bot.services.ladder import posts, rules, store
from bot.services.stats import Contributions, member_windows
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

# Silent placements within this long of the summary post are added to it (the post is edited) instead of a new one.
SUMMARY_WINDOW = timedelta(hours=1)

RoleProblem = Callable[[int], str | None]


@dataclass(frozen=True)
class MemberState:
    """A member as Discord sees them now: their role ids and when they (last) joined."""

    roles: frozenset[int]
    joined_at: datetime | None = None


@dataclass
class Standing:
    """Everything the ladder knows about one member."""

    discord_id: int
    link: store.LinkRow | None
    contributions: dict[timedelta | None, Contributions]
    held: dict[str, datetime]
    approvals: dict[str, str]

    @property
    def eligible(self) -> bool:
        """Linked to a GitHub account that is neither a bot nor ignored."""
        return self.link is not None and not self.link.excluded


@dataclass
class Advance:
    """What one evaluation granted."""

    touched: set[int] = field(default_factory=set)
    promoted_to: int | None = None
    silent: bool = False


@dataclass
class Repair:
    """What repairing one member changed."""

    placed: bool = False
    added: int = 0
    removed: int = 0
    waiting_on: set[int] = field(default_factory=set)


class Engine:
    """Turn a member's standing into grants, outbox rows and approval requests."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings

    @property
    def config(self) -> LadderSettings:
        """The ladder settings, read fresh (tests and reloads may replace them)."""
        return self._settings.ladder

    def now(self) -> datetime:
        """The current time, from the clock."""
        return self._clock.now()

    @property
    def guild_id(self) -> int:
        """The server the ladder serves."""
        return self._settings.discord.guild_id

    async def standing(self, conn: aiosqlite.Connection, guild_id: int, discord_id: int) -> Standing:
        """Load a member's link, contributions per window, grants and approvals."""
        link = await store.link_of(conn, guild_id, discord_id, self._settings.github.ignored_accounts)
        now = self._clock.now()
        windows = list(rules.windows(self.config.tiers))
        found = await member_windows(
            self._db,
            guild_id,
            discord_id,
            [None if window is None else now - window for window in windows],
            kudos_per_giver=self.config.kudos_per_giver,
        )
        counts: dict[timedelta | None, Contributions] = dict(zip(windows, found, strict=True))
        held, approvals = await store.grants_and_approvals(conn, guild_id, discord_id)
        return Standing(discord_id, link, counts, held, approvals)

    def climb(self, standing: Standing) -> rules.Climb:
        """Where the member's contributions and approvals take them."""
        if not standing.eligible:
            return rules.Climb(())
        return rules.climb(self.config.tiers, standing.contributions, True, standing.approvals)

    def held(self, standing: Standing) -> list[int]:
        """Indices of configured tiers the member was granted."""
        return [i for i, tier in enumerate(self.config.tiers) if tier.name in standing.held]

    def next_tier(self, index: int) -> Tier | None:
        """The tier above ``index``, if any."""
        tiers = self.config.tiers
        return tiers[index + 1] if index + 1 < len(tiers) else None

    # -- promotion -------------------------------------------------------------------------------------

    async def advance(self, conn: aiosqlite.Connection, standing: Standing, *, live: bool) -> Advance:
        """Grant every tier newly reached; announce a rise when it is news, else count it for the summary."""
        climb = self.climb(standing)
        if climb.blocked_at is not None:
            await self._propose(conn, standing, climb.blocked_at)
        tiers = self.config.tiers
        held = self.held(standing)
        new = [i for i in climb.reached if tiers[i].name not in standing.held]
        if not new:
            return Advance()
        now = self._clock.now()
        old_top = max(held, default=None)
        new_top = max([*held, *new])
        for i in new:
            standing.held[tiers[i].name] = now
            await store.put_grant(conn, self.guild_id, standing.discord_id, tiers[i].name, now)
        result = Advance()
        rose = old_top is None or new_top > old_top
        if self.config.mode == "stack":
            for i in new:
                result.touched.add(await self._add_role(conn, standing.discord_id, tiers[i], now))
        elif rose:
            result.touched.add(await self._add_role(conn, standing.discord_id, tiers[new_top], now))
            for i in held:
                if tiers[i].role_id != tiers[new_top].role_id:
                    result.touched.add(await self.remove_role(conn, standing.discord_id, tiers[i].role_id, now))
        if rose:
            result.promoted_to = new_top
            result.silent = not live
            if live:
                await self._announce(conn, standing.discord_id, new_top, now)
            log.info(
                "ladder: member %s is now %s%s", standing.discord_id, tiers[new_top].name, "" if live else " (history)"
            )
        return result

    def add_key(self, discord_id: int, tier: str, granted_at: datetime) -> str:
        """The outbox key of the role grant made at ``granted_at`` (reconcile reads its fate back)."""
        return f"ladder:add:{self.guild_id}:{discord_id}:{tier}:{iso(granted_at)}"

    async def _add_role(self, conn: aiosqlite.Connection, discord_id: int, tier: Tier, granted_at: datetime) -> int:
        await enqueue_role(
            conn,
            self.add_key(discord_id, tier.name, granted_at),
            add=True,
            guild_id=self.guild_id,
            user_id=discord_id,
            role_id=tier.role_id,
            reason=f"Vestry ladder: earned {tier.name}",
            now=self._clock.now(),
        )
        return tier.role_id

    async def regrant(self, conn: aiosqlite.Connection, standing: Standing, tier: Tier) -> None:
        """Give a tier's role again and renew the grant (a later removal by hand is then respected again)."""
        now = self._clock.now()
        standing.held[tier.name] = now
        await store.put_grant(conn, self.guild_id, standing.discord_id, tier.name, now)
        await self._add_role(conn, standing.discord_id, tier, now)

    async def remove_role(self, conn: aiosqlite.Connection, discord_id: int, role_id: int, now: datetime) -> int:
        """Queue taking a ladder role away."""
        await enqueue_role(
            conn,
            f"ladder:remove:{self.guild_id}:{discord_id}:{role_id}:{iso(now)}",
            add=False,
            guild_id=self.guild_id,
            user_id=discord_id,
            role_id=role_id,
            reason="Vestry ladder",
            now=now,
        )
        return role_id

    async def _announce(self, conn: aiosqlite.Connection, discord_id: int, index: int, now: datetime) -> None:
        tier, after = self.config.tiers[index], self.next_tier(index)
        channel = self._settings.discord.channels.kudos
        key = f"promo:{self.guild_id}:{discord_id}:{tier.name}"
        speaker = await channel_lang(conn, self._settings)
        if self.config.announce and channel is not None:
            template = template_for(self._settings, speaker, "promotion", self.config.promotion_message)
            message = posts.promotion_post(template, discord_id, tier, after)
            await enqueue_message(conn, key, channel, message, now=now)
        if self.config.dm_member:
            await enqueue_dm(conn, f"{key}:dm", discord_id, posts.promotion_dm(tier, after, speaker), now=now)

    async def _propose(self, conn: aiosqlite.Connection, standing: Standing, index: int) -> None:
        tier = self.config.tiers[index]
        if tier.name in standing.approvals or standing.link is None:
            return
        now = self._clock.now()
        request_id = await store.open_request(conn, self.guild_id, standing.discord_id, tier.name, now)
        standing.approvals[tier.name] = rules.PENDING
        if request_id is None:
            return
        channel = self._settings.discord.channels.maintainers
        if channel is None:
            log.warning(
                "ladder: member %s qualifies for %s, which needs approval, but no maintainers channel is set "
                "(discord.channels.maintainers) to ask in",
                standing.discord_id,
                tier.name,
            )
            return
        speaker = await channel_lang(conn, self._settings)
        message = posts.approval_post(request_id, standing.discord_id, standing.link.login, tier, speaker)
        await enqueue_message(
            conn, f"promo-request:{self.guild_id}:{standing.discord_id}:{tier.name}", channel, message, now=now
        )

    async def note_placements(self, conn: aiosqlite.Connection, count: int) -> None:
        """Add silent placements to the one summary post, starting a new post after SUMMARY_WINDOW."""
        channel = self._settings.discord.channels.kudos
        if count <= 0 or not self.config.announce or channel is None:
            return
        state_key = f"ladder:summary:{self.guild_id}"
        now, speaker = self._clock.now(), await channel_lang(conn, self._settings)
        state = await store.get_json(conn, state_key)
        started = parse_iso(state["started"]) if state else None
        if state is not None and started is not None and now - started < SUMMARY_WINDOW:
            total = int(state["count"]) + count
            key = str(state["key"])
            await enqueue_edit(
                conn, f"{key}:{total}", target_key=key, message=posts.summary_post(total, speaker), now=now
            )
        else:
            total, key, started = count, f"ladder-summary:{self.guild_id}:{iso(now)}", now
            await enqueue_message(conn, key, channel, posts.summary_post(total, speaker), now=now)
        await store.put_json(conn, state_key, {"key": key, "count": total, "started": iso(started)})

    # -- unlinking -------------------------------------------------------------------------------------

    async def unlinked(self, conn: aiosqlite.Connection, guild_id: int, discord_id: int) -> None:
        """Take back the roles the link earned and forget its grants and open requests."""
        held = await store.grants(conn, guild_id, discord_id)
        now = self._clock.now()
        removed: set[int] = set()
        for tier in self.config.tiers:
            if tier.name in held and tier.role_id not in removed:
                removed.add(await self.remove_role(conn, discord_id, tier.role_id, now))
        await store.drop_grants(conn, guild_id, discord_id, held)
        await store.drop_pending_requests(conn, guild_id, discord_id)
        if held:
            log.info("ladder: member %s unlinked; removed %d ladder role(s)", discord_id, len(removed))
