"""Queue celebration posts through the outbox, combine bursts, and re-render posts when people link.

Everything here runs inside the event consumer's transaction, so a post, the record of what it shows and the
cursor advance commit together: a restart replays the whole batch or none of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import aiosqlite

from bot.clock import Clock
from bot.config import Settings
from bot.i18n.server import channel_lang
from bot.outbox import enqueue_dm, enqueue_edit, enqueue_message
from bot.services.recognition import backlog, render
from bot.services.recognition.kinds import kind_of
from bot.services.recognition.models import BATCH_PREFIX, Celebration, batch_key, post_key

log = logging.getLogger(__name__)


class Publisher:
    """Write celebration posts, DMs and edits to the outbox."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._guild = settings.discord.guild_id

    async def _member(self, conn: aiosqlite.Connection, github_id: int) -> int | None:
        cursor = await conn.execute(
            "SELECT discord_id FROM links WHERE guild_id = ? AND github_id = ?", (self._guild, github_id)
        )
        row = await cursor.fetchone()
        return None if row is None else int(row["discord_id"])

    async def _showing(self, conn: aiosqlite.Connection, items: Sequence[Celebration]) -> list[Celebration]:
        return [item.showing(await self._member(conn, item.github_id)) for item in items]

    async def publish(self, conn: aiosqlite.Connection, due: Sequence[Celebration]) -> int:
        """Queue posts for celebrations decided in one batch; more than ``burst_size`` become combined posts.

        While the kudos channel is backed up, they are held instead (``backlog``) and go out, combined with the
        others held, with the first batch after it has drained (or when ``release`` finds it drained).
        """
        channel = self._settings.discord.channels.kudos
        if channel is None:
            return 0
        kudos = self._settings.kudos
        waiting = await backlog.held(conn, self._guild)
        if due and await backlog.backed_up(conn, channel, self._clock.now(), kudos.burst_size):
            await backlog.hold(conn, self._guild, [*waiting, *due])
            log.info("kudos channel backed up: holding %d celebration(s) to combine", len(waiting) + len(due))
            count = 0
        else:
            if waiting:
                await backlog.hold(conn, self._guild, [])
            count = await self._post(conn, channel, [*waiting, *due])
        if kudos.dm_author:
            await self._thank_authors(conn, [item for item in due if kind_of(item).thank_by_dm])
        return count

    async def release(self, conn: aiosqlite.Connection) -> tuple[int, int]:
        """Post the held celebrations if the channel has drained; return (posts queued, celebrations still held)."""
        channel = self._settings.discord.channels.kudos
        waiting = await backlog.held(conn, self._guild)
        if not waiting or channel is None:
            return 0, 0
        if await backlog.backed_up(conn, channel, self._clock.now(), self._settings.kudos.burst_size):
            return 0, len(waiting)
        await backlog.hold(conn, self._guild, [])
        return await self._post(conn, channel, waiting), 0

    async def _post(self, conn: aiosqlite.Connection, channel: int, due: Sequence[Celebration]) -> int:
        if not due:
            return 0
        kudos = self._settings.kudos
        if len(due) > kudos.burst_size:
            posts = [(batch_key(self._guild, group[0].seq), group) for group in render.split_burst(due)]
        else:
            posts = [(post_key(self._guild, item.key), [item]) for item in due]
        now, speaker = self._clock.now(), await channel_lang(conn, self._settings)
        for key, group in posts:
            shown = await self._showing(conn, group)
            message = render.post(shown, kudos, key.startswith(BATCH_PREFIX), speaker, self._settings)
            if not await enqueue_message(conn, key, channel, message, now=now):
                log.warning("celebration post %s was already queued; not posting it again", key)
                continue
            await self._remember(conn, key, shown)
        return len(posts)

    async def _remember(self, conn: aiosqlite.Connection, key: str, shown: Sequence[Celebration]) -> None:
        for item in shown:
            await conn.execute(
                "UPDATE celebrations SET post_key = ?, detail = ? WHERE guild_id = ? AND key = ?",
                (key, json.dumps(item.to_json(), sort_keys=True), self._guild, item.key),
            )

    async def _thank_authors(self, conn: aiosqlite.Connection, firsts: Sequence[Celebration]) -> None:
        speaker = await channel_lang(conn, self._settings)
        step = render.next_step(self._settings.ladder, speaker)
        for item in firsts:
            discord_id = await self._member(conn, item.github_id)
            if discord_id is None:
                continue
            key = f"first-pr-dm:{self._guild}:{item.github_id}"
            await enqueue_dm(conn, key, discord_id, render.thank_you_dm(item, step, speaker), now=self._clock.now())

    async def refresh(self, conn: aiosqlite.Connection, github_id: int, seq: int) -> int:
        """Edit every post that celebrates ``github_id`` so it shows who they are now; return how many."""
        cursor = await conn.execute(
            "SELECT DISTINCT post_key FROM celebrations WHERE guild_id = ? AND github_id = ? AND post_key IS NOT NULL",
            (self._guild, github_id),
        )
        keys = [str(row[0]) for row in await cursor.fetchall()]
        edited = 0
        for key in keys:
            cursor = await conn.execute(
                "SELECT detail FROM celebrations WHERE guild_id = ? AND post_key = ? ORDER BY rowid", (self._guild, key)
            )
            items = [Celebration.from_json(json.loads(row[0])) for row in await cursor.fetchall()]
            shown = await self._showing(conn, items)
            if [i.shown_discord_id for i in shown] == [i.shown_discord_id for i in items]:
                continue
            speaker = await channel_lang(conn, self._settings)
            message = render.post(shown, self._settings.kudos, key.startswith(BATCH_PREFIX), speaker, self._settings)
            await enqueue_edit(conn, f"kudos-edit:{seq}:{key}", target_key=key, message=message, now=self._clock.now())
            await self._remember(conn, key, shown)
            edited += 1
        return edited
