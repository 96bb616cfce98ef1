"""The hall of fame: keep its rows current with the ledger, answer pages, and hold members' privacy choices."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from bot.clock import Clock
from bot.db import Database
from bot.errors import UserFacingError
from bot.services.halloffame import query
from bot.services.halloffame.build import rebuild, scopes_of
from bot.services.halloffame.models import Contributor, Filters, Page, PersonPage
from bot.timeutil import iso

log = logging.getLogger(__name__)


class HallOfFame:
    """Serve the public page's data from rows rebuilt whenever the ledger changed (at most once per interval)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        guild_id: int,
        repositories: Sequence[str],
        tiers: Sequence[str],
        refresh_every: timedelta = timedelta(minutes=1),
        newcomers: int = 8,
    ) -> None:
        self._db = db
        self._clock = clock
        self.guild_id = guild_id
        self.repositories = list(repositories)
        self.tiers = list(tiers)
        self._every = refresh_every.total_seconds()
        self._newcomer_count = newcomers
        self._lock = asyncio.Lock()
        self._seen_changes: int | None = None
        self._built_at = float("-inf")
        self._took = 0.0
        self._later: asyncio.Task[None] | None = None
        self.generation = 0
        self.contributors = 0
        self.newcomers: list[Contributor] = []
        self.scopes = scopes_of(self.repositories)
        self._counts: dict[tuple[str | None, str | None, str | None], int] = {}

    async def fresh(self) -> None:
        """Make sure the rows reflect the ledger.

        The first build, and every one when ``refresh_every`` is zero, happens before the page is answered; later
        ones run in the background at most once per interval, the page serving the previous rows meanwhile.
        """
        if await self._changes() == self._seen_changes:
            return
        if self._every <= 0 or self._seen_changes is None:
            await self.refresh(only_if_changed=True)
        elif self._later is None or self._later.done():
            # A big ledger's rebuild holds the database for seconds: keep it under 5% of the time.
            wait = max(0.0, self._built_at + max(self._every, 20 * self._took) - time.monotonic())
            self._later = asyncio.create_task(self._refresh_later(wait), name="vestry-hall-of-fame")

    async def _refresh_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.refresh(only_if_changed=True)
        except Exception:
            log.exception("the hall of fame could not be rebuilt; the page keeps its last rows")

    async def _changes(self) -> int:
        # Every write goes through the one connection, so its change counter moves with any ledger change.
        return int(await self._db.fetchval("SELECT total_changes()", default=0))

    async def refresh(self, only_if_changed: bool = False) -> None:
        """Rebuild every row from the ledger now (unless, when asked, nothing changed since the last build)."""
        async with self._lock:
            if only_if_changed and await self._changes() == self._seen_changes:
                return  # built while this call waited for the lock
            started = time.monotonic()
            async with self._db.transaction() as conn:
                self.contributors = await rebuild(conn, self.guild_id, self.repositories, self.tiers)
            self.newcomers = await query.read_newcomers(self._db, self.guild_id, self._newcomer_count)
            self._seen_changes = await self._changes()
            self._built_at = time.monotonic()
            self._counts.clear()
            self.generation += 1
            took = self._took = self._built_at - started
            log.log(
                logging.INFO if took > 1 else logging.DEBUG,
                "hall of fame rebuilt: %d in %.3fs",
                self.contributors,
                took,
            )

    @property
    def rebuild_seconds(self) -> float:
        """How long the last rebuild took."""
        return self._took

    async def page(self, filters: Filters) -> Page:
        """Read one page of contributors."""
        if filters.repo and filters.repo.lower() not in {repo.lower() for repo in self.repositories}:
            raise UserFacingError(f"{filters.repo[:100]!r} is not one of the repositories this page follows")
        shown = replace(filters, repo=None) if len(self.scopes) == 1 else filters
        await self.fresh()
        async with self._lock:
            page = await query.read_page(self._db, self.guild_id, shown)
            key = (shown.repo and shown.repo.lower(), shown.tier, shown.kind)
            if key not in self._counts:  # counted once per rebuild and filter, so a page is one query
                self._counts[key] = await query.count(self._db, shown)
        return replace(page, matched=self._counts[key], filters=filters)

    async def person(self, login: str) -> PersonPage | None:
        """Read one contributor's page, or None when the page does not list them."""
        await self.fresh()
        async with self._lock:
            rows = await query.read_person(self._db, self.guild_id, login)
        if "" not in rows:
            return None
        everywhere = rows.pop("")
        return PersonPage(everywhere, rows)

    async def everyone(self, repo: str | None = None) -> list[Contributor]:
        """Read every contributor listed (for one repository, or all), oldest contribution first."""
        scope = repo if repo and len(self.scopes) > 1 else ""
        await self.fresh()
        async with self._lock:
            return await query.read_all(self._db, self.guild_id, scope)

    async def set_public(self, discord_id: int, public: bool, name: str, avatar_url: str | None) -> None:
        """Record a member's choice to show (or hide) their Discord name and avatar on the page."""
        await self._db.execute(
            "INSERT INTO member_profiles(guild_id, discord_id, public, forgotten, name, avatar_url, updated_at) "
            "VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT(guild_id, discord_id) DO UPDATE SET public = excluded.public, "
            "forgotten = 0, name = excluded.name, avatar_url = excluded.avatar_url, updated_at = excluded.updated_at",
            (
                self.guild_id,
                discord_id,
                int(public),
                name if public else None,
                avatar_url if public else None,
                iso(self._clock.now()),
            ),
        )

    async def forget(self, discord_id: int) -> None:
        """Drop a member's Discord side from the page at once: name, avatar, tier, kudos and recognitions."""
        await self._db.execute(
            "INSERT INTO member_profiles(guild_id, discord_id, public, forgotten, name, avatar_url, updated_at) "
            "VALUES (?, ?, 0, 1, NULL, NULL, ?) ON CONFLICT(guild_id, discord_id) DO UPDATE SET public = 0, "
            "forgotten = 1, name = NULL, avatar_url = NULL, updated_at = excluded.updated_at",
            (self.guild_id, discord_id, iso(self._clock.now())),
        )

    async def is_public(self, discord_id: int) -> bool:
        """Tell whether a member shows their Discord name and avatar on the page."""
        value = await self._db.fetchval(
            "SELECT public FROM member_profiles WHERE guild_id = ? AND discord_id = ?", (self.guild_id, discord_id)
        )
        return bool(value)

    async def close(self) -> None:
        """Stop a rebuild that was waiting for its turn."""
        if self._later is not None:
            self._later.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._later
