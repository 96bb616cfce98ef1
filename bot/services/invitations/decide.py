"""Decide, from ledger events, who is invited: a person's first pull request, once per GitHub account ever.

An event consumer: the invitation row is written in the transaction that handles the event (and advances the
consumer's cursor), so a restart either replays the event or finds the row, never both and never neither. The
sender (``send.py``) posts it. Nobody is invited for history (backfilled or historical events, or events from
before invitations were turned on), nor when the author is a bot, a ghost, an organisation or an ignored account,
is already linked, or the pull request carries an opt-out label. Linking later, once celebrated, asks for the
comment to be edited.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from bot.clock import Clock
from bot.config import Settings
from bot.counting import account_counts
from bot.db.commits import INVITATIONS, wrote
from bot.domain import MemberLinked, PullEvent, PullMerged, PullOpened
from bot.events import Event
from bot.services.invitations.store import opted_out
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

SINCE_KEY = "invitations:since"


class InvitationDecider:
    """Write an invitation row for each first-timer's pull request; mark invitations whose author was celebrated."""

    name = "invitations"

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self._clock = clock
        self._settings = settings.invitations
        self._guild = settings.discord.guild_id

    async def handle(self, conn: aiosqlite.Connection, events: Sequence[Event]) -> None:
        """Decide invitations for a batch of events."""
        if not self._settings.enabled:
            return
        since = await _since(conn)
        for event in events:
            match event.data:
                case PullOpened() as opened if self._settings.on == "opened":
                    await self._invite(conn, event, opened, since)
                case PullMerged() as merged:
                    # With "opened", a merge is also the first sight of a PR opened and merged while Vestry was
                    # not watching (no opened event came): it is invited then; one seen opened was decided then.
                    await self._invite(conn, event, merged, since)
                    await self._celebrated(conn, merged.author_id, linked_now=False)
                case MemberLinked() as linked if linked.guild_id == self._guild:
                    await self._celebrated(conn, linked.github_id, linked_now=True)
                case _:
                    pass

    async def _invite(self, conn: aiosqlite.Connection, event: Event, pull: PullEvent, since: datetime | None) -> None:
        if event.historical or since is None or event.created_at < since or pull.author_id is None:
            return
        author = int(pull.author_id)
        why_not = await self._why_not(conn, author, pull)
        if why_not is not None:
            log.debug("no invitation for %s#%s: %s", pull.repo, pull.number, why_not)
            return
        now = self._clock.now()
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO invitations(guild_id, github_id, login, repo, number, title, created_at, "
            "not_before) SELECT ?, id, login, ?, ?, ?, ?, ? FROM github_users WHERE id = ?",
            (self._guild, pull.repo, pull.number, pull.title or "", iso(now), iso(now + self._settings.delay), author),
        )
        if cursor.rowcount == 1:
            wrote(INVITATIONS)
            log.info("invitation queued for GitHub account %s on %s#%s", author, pull.repo, pull.number)

    async def _why_not(self, conn: aiosqlite.Connection, author: int, pull: PullEvent) -> str | None:
        """Say why this pull request earns no invitation, or None when it does."""
        account = await _one(conn, "SELECT login, is_bot, ignored, is_org FROM github_users WHERE id = ?", (author,))
        if account is None:
            return "the author is unknown"
        flags = {name: bool(account[name]) for name in ("is_bot", "is_org", "ignored")}
        if not account_counts(author, str(account["login"]), **flags):
            return "the author is a bot, a ghost, an organisation or an ignored account"
        if await _one(conn, "SELECT 1 FROM invitations WHERE guild_id = ? AND github_id = ?", (self._guild, author)):
            return "the author was invited before"
        if await _one(conn, "SELECT 1 FROM links WHERE guild_id = ? AND github_id = ?", (self._guild, author)):
            return "the author is linked already"
        row = await _one(
            conn,
            "SELECT labels, created_at, merged_at FROM pull_requests WHERE repo = ? AND number = ?",
            (pull.repo, pull.number),
        )
        if row is not None and opted_out(str(row["labels"]), self._settings.opt_out_labels):
            return "the pull request carries an opt-out label"
        if await self._earlier(conn, author, pull, row):
            return "it is not the author's first pull request"
        return None

    async def _earlier(
        self, conn: aiosqlite.Connection, author: int, pull: PullEvent, row: aiosqlite.Row | None
    ) -> bool:
        """Tell whether the ledger holds an earlier pull request (or, for "merged", an earlier merge) by the author."""
        if self._settings.on == "merged":
            merged_at = pull.merged_at if isinstance(pull, PullMerged) else None
            at = merged_at or (str(row["merged_at"]) if row is not None and row["merged_at"] else "")
            sql = (
                "SELECT 1 FROM pull_requests WHERE author_id = ? AND state = 'merged' AND COALESCE(merged_at, '') <= ?"
            )
        else:
            at = str(row["created_at"]) if row is not None and row["created_at"] else "9999"
            sql = "SELECT 1 FROM pull_requests WHERE author_id = ? AND COALESCE(created_at, '') <= ?"
        found = await _one(
            conn, sql + " AND NOT (repo = ? AND number = ?) LIMIT 1", (author, at or "9999", pull.repo, pull.number)
        )
        return found is not None

    async def _celebrated(self, conn: aiosqlite.Connection, github_id: int | None, *, linked_now: bool) -> None:
        """Once an invited author is linked and celebrated in Discord, ask for the comment to say so."""
        if github_id is None:
            return
        linked = linked_now or await _one(
            conn, "SELECT 1 FROM links WHERE guild_id = ? AND github_id = ?", (self._guild, github_id)
        )
        celebrated = await _one(
            conn, "SELECT 1 FROM celebrations WHERE guild_id = ? AND github_id = ? LIMIT 1", (self._guild, github_id)
        )
        if not linked or not celebrated:
            return
        now = iso(self._clock.now())
        cursor = await conn.execute(
            "UPDATE invitations SET celebrated_at = ?, not_before = CASE WHEN state = 'sent' THEN ? ELSE not_before "
            "END WHERE guild_id = ? AND github_id = ? AND celebrated_at IS NULL AND state IN ('pending', 'sent')",
            (now, now, self._guild, github_id),
        )
        if cursor.rowcount:
            wrote(INVITATIONS)


async def _one(conn: aiosqlite.Connection, sql: str, params: tuple[object, ...]) -> aiosqlite.Row | None:
    cursor = await conn.execute(sql, params)
    return await cursor.fetchone()


async def _since(conn: aiosqlite.Connection) -> datetime | None:
    cursor = await conn.execute("SELECT value FROM state WHERE key = ?", (SINCE_KEY,))
    row = await cursor.fetchone()
    return None if row is None else parse_iso(str(row[0]))


async def turned_on(conn: aiosqlite.Connection, now: datetime) -> None:
    """Note when invitations were first turned on: events from before are history, never invited."""
    await conn.execute("INSERT OR IGNORE INTO state(key, value) VALUES (?, ?)", (SINCE_KEY, iso(now)))
