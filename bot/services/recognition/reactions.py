"""Kudos given by reacting to a member's message: once per giver and message, withdrawn when the reaction goes soon.

The bot answers quietly, with its own reaction on the message (an outbox row), never with a post per reaction.
"""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.domain import KudosWithdrawn
from bot.errors import UserFacingError
from bot.events import append_event
from bot.outbox import enqueue_reaction
from bot.services.recognition.models import MemberRef, MessageRef
from bot.services.recognition.peer import check_daily_limit, record_kudos
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)


class ReactionKudos:
    """Turn the configured reaction into kudos, and its quick removal into a withdrawal."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings

    def counts(self, emoji: str) -> bool:
        """Whether a reaction with ``emoji`` (unicode, or ``name:id`` for a custom one) gives kudos."""
        wanted = self._settings.kudos.reaction_emoji
        return wanted is not None and emoji == wanted

    async def added(self, giver: MemberRef, author: MemberRef, message: MessageRef, emoji: str) -> bool:
        """Record kudos for a reaction; return whether it gave any (never twice, never to oneself or a bot)."""
        if not self.counts(emoji) or giver.id == author.id or giver.bot or author.bot:
            return False
        now, guild_id = self._clock.now(), message.guild_id
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT kudos_id FROM reaction_kudos WHERE guild_id = ? AND giver_id = ? AND message_id = ?",
                (guild_id, giver.id, message.message_id),
            )
            row = await cursor.fetchone()
            if row is not None and row[0] is not None:
                return False
            try:
                await check_daily_limit(conn, guild_id, giver.id, self._settings.kudos.peer_daily_limit, now)
            except UserFacingError:
                log.info("member %s reacted over their daily kudos limit; no kudos", giver.id)
                return False
            kudos_id, _ = await record_kudos(conn, guild_id, giver, author, "", now, message=message)
            await conn.execute(
                "INSERT INTO reaction_kudos(guild_id, giver_id, message_id, channel_id, receiver_id, kudos_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(guild_id, giver_id, message_id) DO UPDATE SET "
                "kudos_id = excluded.kudos_id, at = excluded.at, withdrawn_at = NULL",
                (guild_id, giver.id, message.message_id, message.channel_id, author.id, kudos_id, iso(now)),
            )
            await enqueue_reaction(
                conn,
                f"reaction-kudos:add:{guild_id}:{kudos_id}",
                add=True,
                channel_id=message.channel_id,
                message_id=message.message_id,
                emoji=emoji,
                now=now,
            )
        log.info("member %s gave kudos to %s by reacting to message %s", giver.id, author.id, message.message_id)
        return True

    async def removed(self, giver_id: int, message: MessageRef, emoji: str) -> bool:
        """Withdraw the kudos of a reaction removed within the grace period; return whether one was withdrawn."""
        if not self.counts(emoji):
            return False
        now, guild_id = self._clock.now(), message.guild_id
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT kudos_id, at, receiver_id FROM reaction_kudos "
                "WHERE guild_id = ? AND giver_id = ? AND message_id = ? AND kudos_id IS NOT NULL",
                (guild_id, giver_id, message.message_id),
            )
            row = await cursor.fetchone()
            given = parse_iso(row[1]) if row is not None else None
            if row is None or given is None or now - given > self._settings.kudos.reaction_grace:
                return False
            kudos_id, receiver_id = int(row[0]), int(row[2])
            await conn.execute("DELETE FROM peer_kudos WHERE id = ?", (kudos_id,))
            await conn.execute(
                "UPDATE reaction_kudos SET kudos_id = NULL, withdrawn_at = ? "
                "WHERE guild_id = ? AND giver_id = ? AND message_id = ?",
                (iso(now), guild_id, giver_id, message.message_id),
            )
            event = KudosWithdrawn(guild_id, giver_id, receiver_id, message.message_id, iso(now))
            await append_event(conn, event, historical=False, now=now)
            cursor = await conn.execute(
                "SELECT 1 FROM reaction_kudos WHERE guild_id = ? AND message_id = ? AND kudos_id IS NOT NULL",
                (guild_id, message.message_id),
            )
            if await cursor.fetchone() is None:  # nobody else's kudos stands on it: take the acknowledgement back
                await enqueue_reaction(
                    conn,
                    f"reaction-kudos:remove:{guild_id}:{kudos_id}",
                    add=False,
                    channel_id=message.channel_id,
                    message_id=message.message_id,
                    emoji=emoji,
                    now=now,
                )
        log.info("member %s withdrew their reaction kudos on message %s", giver_id, message.message_id)
        return True
