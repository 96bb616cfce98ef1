"""Decide, from ledger events, who is celebrated for what; each decision is recorded once per guild and key.

The ledger says whether something is a first ("no earlier merged PR by this author"); the celebrations table
says whether it was already decided (a late-arriving earlier PR, a replayed event). Historical events are
decided too, silently, so that history is never announced later. First PRs and milestones are announced for
everyone (an unlinked author gets a "This is me" button); the other firsts only for linked members.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

from bot.config import Settings
from bot.events import Event
from bot.services.people import Person, people
from bot.services.recognition.kinds import KINDS, Candidate, Kind, kind_of
from bot.services.recognition.models import Celebration

log = logging.getLogger(__name__)


class Decider:
    """Turn events into celebrations that are new and due to be announced (the kinds table says which)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._guild = settings.discord.guild_id

    async def decide_many(self, conn: aiosqlite.Connection, events: Sequence[Event]) -> list[Celebration]:
        """Record every celebration the events earn, in their order; return those to announce now.

        The people the events celebrate are read once for the batch: every statement is a trip to the database
        thread and back through the event loop, which under load costs far more than the statement itself.
        """
        wanted = [
            int(github_id)
            for event in events
            for kind in KINDS.values()
            if isinstance(event.data, kind.trigger) and (github_id := kind.celebrated(event.data)) is not None
        ]
        known = await people(conn, self._guild, wanted) if wanted else {}
        due = []
        for event in events:
            due += await self._decide(conn, event, known)
        return due

    async def _decide(self, conn: aiosqlite.Connection, event: Event, known: Mapping[int, Person]) -> list[Celebration]:
        """Record every celebration the event earns; return those to announce now (``known``: the batch's people)."""
        candidates: list[Candidate] = []
        for kind in KINDS.values():
            if isinstance(event.data, kind.trigger):
                candidates += await self._earned(conn, event, kind, known)
        due = []
        for candidate in candidates:
            new = await self._record(conn, candidate.celebration)
            if new and candidate.loud and await self._announces(conn, event, candidate.celebration):
                due.append(candidate.celebration)
        return due

    async def _earned(
        self, conn: aiosqlite.Connection, event: Event, kind: Kind, known: Mapping[int, Person]
    ) -> list[Candidate]:
        """Return what ``kind`` says the event earns its celebrated person (nothing for bots and ignored accounts)."""
        someone = self._who(kind.celebrated(event.data), known)
        if someone is None:
            return []
        fields = kind.facts(event, event.data) | {
            "github_id": someone.github_id,
            "login": someone.login,
            "avatar_url": someone.avatar_url,
        }
        if kind.pull_details:
            pulls = list(
                await conn.execute_fetchall(
                    "SELECT title, url FROM pull_requests WHERE repo = ? AND number = ?",
                    (fields["repo"], fields["number"]),
                )
            )
            fields |= {"title": pulls[0]["title"] or "", "url": pulls[0]["url"] or ""} if pulls else {}
        return await kind.rule.earn(conn, kind, fields, event.data, self._settings.kudos, self._guild)

    async def _announces(self, conn: aiosqlite.Connection, event: Event, celebration: Celebration) -> bool:
        kudos = self._settings.kudos
        if event.historical or not kudos.enabled or self._settings.discord.channels.kudos is None:
            return False
        if kind_of(celebration).everyone:
            return True
        # Other firsts are steps on a member's way in this community (the ladder follows them). For accounts
        # nobody has linked they would mostly greet veteran maintainers whose history was never imported.
        if not kudos.other_firsts:
            return False
        linked = await conn.execute_fetchall(
            "SELECT 1 FROM links WHERE guild_id = ? AND github_id = ?", (self._guild, celebration.github_id)
        )
        return bool(linked)

    async def _record(self, conn: aiosqlite.Connection, celebration: Celebration) -> bool:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO celebrations(guild_id, key, github_id, at, detail) VALUES (?, ?, ?, ?, ?)",
            (
                self._guild,
                celebration.key,
                celebration.github_id,
                celebration.at,
                json.dumps(celebration.to_json(), sort_keys=True),
            ),
        )
        return cursor.rowcount == 1

    @staticmethod
    def _who(github_id: Any, known: Mapping[int, Person]) -> Person | None:
        """The person among the batch's; bots and ignored accounts come back as None (they are never celebrated)."""
        if github_id is None:
            return None
        found = known.get(int(github_id))
        return None if found is None or found.excluded else found
