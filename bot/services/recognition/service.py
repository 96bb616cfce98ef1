"""The Recognition service: an event consumer that celebrates, plus /kudos, /recognize and /profile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aiosqlite

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.domain import MemberLinked, MemberUnlinked
from bot.events import Event
from bot.i18n import ENGLISH, Lang
from bot.services.recognition import backlog
from bot.services.recognition.celebrate import Decider
from bot.services.recognition.models import Celebration, KudosGiven, MemberRef, MessageRef, Profile, RecognitionGiven
from bot.services.recognition.peer import PeerKudos
from bot.services.recognition.profile import LadderProgress, ProfileReader
from bot.services.recognition.publish import Publisher
from bot.services.recognition.reactions import ReactionKudos

log = logging.getLogger(__name__)


class Recognition:
    """Celebrate first merged PRs, milestones and other firsts exactly once; record people thanking people."""

    name = "recognition"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        ladder: LadderProgress | None = None,
    ) -> None:
        self._db = db
        self._releaser: asyncio.Task[None] | None = None
        self._settings = settings
        self._guild = settings.discord.guild_id
        self._decider = Decider(settings)
        self._publisher = Publisher(settings, clock)
        self._peer = PeerKudos(db, clock, settings)
        self._reactions = ReactionKudos(db, clock, settings)
        self._profiles = ProfileReader(db, ladder)

    async def handle(self, conn: aiosqlite.Connection, events: Sequence[Event]) -> None:
        """Decide celebrations for a batch of events and queue their posts (combined when many are due)."""
        due: list[Celebration] = []
        relinked: list[tuple[int, int]] = []
        earning = []
        for event in events:
            if isinstance(event.data, MemberLinked | MemberUnlinked):
                if event.data.guild_id == self._guild:
                    relinked.append((event.data.github_id, event.seq))
                continue
            earning.append(event)
        due += await self._decider.decide_many(conn, earning)
        if due:
            posts = await self._publisher.publish(conn, due)
            log.info("celebrating %d contributions in %d posts", len(due), posts)
            if await backlog.held(conn, self._guild):
                self.release_when_drained()
        for github_id, seq in relinked:
            await self._publisher.refresh(conn, github_id, seq)

    def release_when_drained(self) -> None:
        """Watch the kudos channel and post the held celebrations once it has drained (a no-op when watching)."""
        if self._releaser is None or self._releaser.done():
            self._releaser = asyncio.create_task(self._release_loop(), name="vestry-kudos-release")

    async def resume(self) -> None:
        """After a restart, go on releasing celebrations that were held when the bot stopped."""
        if await backlog.held(self._db.conn, self._guild):
            self.release_when_drained()

    async def held_count(self) -> int:
        """How many celebrations wait for the kudos channel to drain."""
        return len(await backlog.held(self._db.conn, self._guild))

    async def stop(self) -> None:
        """Stop watching; held celebrations stay held for the next start."""
        if self._releaser is not None:
            self._releaser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._releaser
            self._releaser = None

    async def _release_loop(self) -> None:
        while True:
            await asyncio.sleep(backlog.RELEASE_EVERY)
            try:
                async with self._db.transaction() as conn:
                    posts, left = await self._publisher.release(conn)
            except Exception:
                log.exception("releasing held celebrations failed; trying again")
                continue
            if posts:
                log.info("kudos channel drained: %d combined post(s) queued", posts)
            if not left:
                return

    async def give_kudos(
        self,
        guild_id: int,
        giver: MemberRef,
        receiver: MemberRef,
        reason: str | None,
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
        message: MessageRef | None = None,
    ) -> KudosGiven:
        """Record one member thanking another (with its post, keyed by the interaction, when one is given)."""
        return await self._peer.give(
            guild_id, giver, receiver, reason, interaction_id=interaction_id, channel_id=channel_id, message=message
        )

    def reaction_counts(self, emoji: str) -> bool:
        """Whether reacting with ``emoji`` gives kudos (``[kudos] reaction_emoji``)."""
        return self._reactions.counts(emoji)

    async def reacted(self, giver: MemberRef, author: MemberRef, message: MessageRef, emoji: str) -> bool:
        """Give kudos for a reaction on a member's message (once per giver and message); return whether it did."""
        return await self._reactions.added(giver, author, message, emoji)

    async def unreacted(self, giver_id: int, message: MessageRef, emoji: str) -> bool:
        """Withdraw a reaction's kudos when the reaction went within the grace period; return whether it did."""
        return await self._reactions.removed(giver_id, message, emoji)

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

    async def profile(self, guild_id: int, member: MemberRef, viewer_id: int, speaker: Lang = ENGLISH) -> Profile:
        """Collect what /profile shows about a member (its ladder line in ``speaker``'s language)."""
        return await self._profiles.profile(guild_id, member, viewer_id, speaker)
