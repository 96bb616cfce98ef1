"""The Recognition service: an event consumer that celebrates, plus /kudos, /recognize and /profile."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot import events as ev
from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.events import Event, EventBus
from bot.services.recognition.celebrate import Decider
from bot.services.recognition.models import Celebration, KudosGiven, MemberRef, Profile, RecognitionGiven
from bot.services.recognition.peer import PeerKudos
from bot.services.recognition.profile import ProfileReader
from bot.services.recognition.publish import Publisher

log = logging.getLogger(__name__)


class Recognition:
    """Celebrate first merged PRs, milestones and other firsts exactly once; record people thanking people."""

    name = "recognition"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        bus: EventBus | None = None,
        features: dict[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._guild = settings.discord.guild_id
        self._decider = Decider(db, settings)
        self._publisher = Publisher(settings, clock)
        self._peer = PeerKudos(db, clock, settings, bus)
        known = features if features is not None else {}
        self._profiles = ProfileReader(db, lambda: known.get("ladder"))

    async def handle(self, conn: aiosqlite.Connection, events: Sequence[Event]) -> None:
        """Decide celebrations for a batch of events and queue their posts (combined when many are due)."""
        due: list[Celebration] = []
        relinked: list[tuple[int, int]] = []
        for event in events:
            if event.kind in (ev.LINKED, ev.UNLINKED):
                guild = event.payload.get("guild_id")
                github_id = event.payload.get("github_id")
                if github_id is not None and (guild is None or int(guild) == self._guild):
                    relinked.append((int(github_id), event.seq))
                continue
            due += await self._decider.decide(conn, event)
        if due:
            posts = await self._publisher.publish(conn, due)
            log.info("celebrating %d contributions in %d posts", len(due), posts)
        for github_id, seq in relinked:
            await self._publisher.refresh(conn, github_id, seq)

    async def give_kudos(
        self,
        guild_id: int,
        giver: MemberRef,
        receiver: MemberRef,
        reason: str | None,
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
    ) -> KudosGiven:
        """Record one member thanking another (with its post, keyed by the interaction, when one is given)."""
        return await self._peer.give(
            guild_id, giver, receiver, reason, interaction_id=interaction_id, channel_id=channel_id
        )

    async def recognize(
        self,
        guild_id: int,
        by: MemberRef,
        member: MemberRef,
        kind: str,
        link: str,
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
    ) -> RecognitionGiven:
        """Record a maintainer's recognition of a member's non-code contribution (keyed by the interaction)."""
        return await self._peer.recognize(
            guild_id, by, member, kind, link, interaction_id=interaction_id, channel_id=channel_id
        )

    async def profile(self, guild_id: int, member: MemberRef, viewer_id: int) -> Profile:
        """Collect what /profile shows about a member."""
        return await self._profiles.profile(guild_id, member, viewer_id)
