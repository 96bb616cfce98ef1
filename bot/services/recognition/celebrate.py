"""Decide, from ledger events, who is celebrated for what; each decision is recorded once per guild and key.

The ledger says whether something is a first ("no earlier merged PR by this author"); the celebrations table
says whether it was already decided (a late-arriving earlier PR, a replayed event). Historical events are
decided too, silently, so that history is never announced later. First PRs and milestones are announced for
everyone (an unlinked author gets a "This is me" button); the other firsts only for linked members.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.config import Settings
from bot.db import Database
from bot.domain import IssueClosed, PullMerged, ReviewSubmitted
from bot.events import Event
from bot.services.people import Person, person
from bot.services.recognition.models import (
    FIRST_ISSUE_CLOSED,
    FIRST_MERGE,
    FIRST_PR,
    FIRST_REVIEW,
    MILESTONE,
    Celebration,
)
from bot.timeutil import iso

log = logging.getLogger(__name__)

REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED"})


@dataclass(frozen=True)
class Candidate:
    """A celebration a fact may deserve; ``loud`` is False for one recorded without a post of its own."""

    celebration: Celebration
    loud: bool = True


class Decider:
    """Turn events into celebrations that are new and due to be announced."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._guild = settings.discord.guild_id

    async def decide(self, conn: aiosqlite.Connection, event: Event) -> list[Celebration]:
        """Record every celebration the event earns; return those to announce now."""
        match event.data:
            case PullMerged() as merged:
                candidates = await self._merged(conn, event, merged)
            case ReviewSubmitted() as review:
                candidates = await self._reviewed(conn, event, review)
            case IssueClosed() as closed:
                candidates = await self._closed(conn, event, closed)
            case _:
                return []
        due = []
        for candidate in candidates:
            new = await self._record(conn, candidate.celebration)
            if new and candidate.loud and await self._announces(conn, event, candidate.celebration):
                due.append(candidate.celebration)
        return due

    async def _announces(self, conn: aiosqlite.Connection, event: Event, celebration: Celebration) -> bool:
        kudos = self._settings.kudos
        if event.historical or not kudos.enabled or self._settings.discord.channels.kudos is None:
            return False
        if celebration.kind in (FIRST_PR, MILESTONE):
            return True
        # Other firsts are steps on a member's way in this community (the ladder follows them). For accounts
        # nobody has linked they would mostly greet veteran maintainers whose history was never imported.
        return kudos.other_firsts and await self._exists(
            conn, "SELECT 1 FROM links WHERE guild_id = ? AND github_id = ?", (self._guild, celebration.github_id)
        )

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

    async def _celebrated(self, conn: aiosqlite.Connection, key: str) -> bool:
        cursor = await conn.execute("SELECT 1 FROM celebrations WHERE guild_id = ? AND key = ?", (self._guild, key))
        return await cursor.fetchone() is not None

    async def _who(self, github_id: Any) -> Person | None:
        """Look a person up; bots and ignored accounts come back as None (they are never celebrated)."""
        if github_id is None:
            return None
        found = await person(self._db, self._guild, int(github_id))
        return None if found is None or found.excluded else found

    @staticmethod
    async def _exists(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> bool:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchone() is not None

    async def _merged(self, conn: aiosqlite.Connection, event: Event, p: PullMerged) -> list[Candidate]:
        repo, number = p.repo, p.number
        merged_at = p.merged_at or iso(event.created_at)
        base: dict[str, Any] = {
            "seq": event.seq,
            "title": p.title or "",
            "url": p.url or "",
            "repo": repo,
            "number": number,
            "merged_by": p.merged_by_login or "",
            "at": merged_at,
        }
        out: list[Candidate] = []
        author = await self._who(p.author_id)
        if author is not None:
            mine = {"github_id": author.github_id, "login": author.login, "avatar_url": author.avatar_url}
            out += await self._first_pr(conn, author, repo, number, merged_at, base | mine)
            out += await self._milestones(conn, author, repo, number, merged_at, base | mine)
        merger = await self._who(p.merged_by_id)
        if merger is not None and merger.github_id != p.author_id:
            earlier = await self._exists(
                conn,
                "SELECT 1 FROM pull_requests WHERE state = 'merged' AND merged_by_id = ? "
                "AND (author_id IS NULL OR author_id != merged_by_id) "
                "AND (merged_at, repo, number) < (?, ?, ?) LIMIT 1",
                (merger.github_id, merged_at, repo, number),
            )
            if not earlier:
                theirs = {"github_id": merger.github_id, "login": merger.login, "avatar_url": merger.avatar_url}
                other = {"other": p.author_login or ""}
                key = f"{FIRST_MERGE}:{merger.github_id}"
                out.append(Candidate(Celebration(kind=FIRST_MERGE, key=key, **(base | theirs | other))))
        return out

    async def _first_pr(
        self, conn: aiosqlite.Connection, author: Person, repo: str, number: int, merged_at: str, fields: dict[str, Any]
    ) -> list[Candidate]:
        per_repo = self._settings.kudos.scope == "repository"
        sql = (
            "SELECT 1 FROM pull_requests WHERE state = 'merged' AND author_id = ? "
            "AND (merged_at, repo, number) < (?, ?, ?)"
        )
        params: tuple[Any, ...] = (author.github_id, merged_at, repo, number)
        if per_repo:
            sql += " AND repo = ?"
            params += (repo,)
        if await self._exists(conn, sql + " LIMIT 1", params):
            return []
        key = f"{FIRST_PR}:{repo}:{author.github_id}" if per_repo else f"{FIRST_PR}:{author.github_id}"
        return [Candidate(Celebration(kind=FIRST_PR, key=key, **fields))]

    async def _milestones(
        self, conn: aiosqlite.Connection, author: Person, repo: str, number: int, merged_at: str, fields: dict[str, Any]
    ) -> list[Candidate]:
        """Celebrate the highest milestone newly reached; lower ones missed (late arrivals) are recorded quietly."""
        cursor = await conn.execute(
            "SELECT COUNT(*) FROM pull_requests WHERE state = 'merged' AND author_id = ? "
            "AND (merged_at, repo, number) <= (?, ?, ?)",
            (author.github_id, merged_at, repo, number),
        )
        row = await cursor.fetchone()
        count = int(row[0]) if row else 0
        reached = []
        for milestone in sorted(set(self._settings.kudos.milestones)):
            key = f"{MILESTONE}:{milestone}:{author.github_id}"
            if milestone <= count and not await self._celebrated(conn, key):
                reached.append(Celebration(kind=MILESTONE, key=key, count=milestone, **fields))
        return [Candidate(c, loud=index == len(reached) - 1) for index, c in enumerate(reached)]

    async def _reviewed(self, conn: aiosqlite.Connection, event: Event, p: ReviewSubmitted) -> list[Candidate]:
        if p.state.upper() not in REVIEW_STATES:
            return []
        reviewer = await self._who(p.reviewer_id)
        if reviewer is None:
            return []
        repo, number = p.repo, p.number
        cursor = await conn.execute(
            "SELECT author_id, title, url FROM pull_requests WHERE repo = ? AND number = ?", (repo, number)
        )
        pull = await cursor.fetchone()
        if pull is not None and pull["author_id"] == reviewer.github_id:
            return []  # reviewing your own pull request is not a first review
        earlier = await self._exists(
            conn,
            "SELECT 1 FROM reviews r LEFT JOIN pull_requests p ON p.repo = r.repo AND p.number = r.number "
            "WHERE r.reviewer_id = ? AND r.state != 'DISMISSED' "
            "AND (p.author_id IS NULL OR p.author_id != r.reviewer_id) AND (r.submitted_at, r.id) < (?, ?) LIMIT 1",
            (reviewer.github_id, p.submitted_at or "", p.id),
        )
        if earlier:
            return []
        celebration = Celebration(
            kind=FIRST_REVIEW,
            key=f"{FIRST_REVIEW}:{reviewer.github_id}",
            github_id=reviewer.github_id,
            login=reviewer.login,
            avatar_url=reviewer.avatar_url,
            seq=event.seq,
            title=pull["title"] if pull is not None else "",
            url=pull["url"] if pull is not None else "",
            repo=repo,
            number=number,
            at=p.submitted_at or "",
        )
        return [Candidate(celebration)]

    async def _closed(self, conn: aiosqlite.Connection, event: Event, p: IssueClosed) -> list[Candidate]:
        if (p.state_reason or "completed") != "completed":
            return []  # closing as "not planned" or duplicate is triage, not a finished issue
        closer = await self._who(p.closed_by_id)
        if closer is None:
            return []
        repo, number, closed_at = p.repo, p.number, p.closed_at or iso(event.created_at)
        earlier = await self._exists(
            conn,
            "SELECT 1 FROM issues WHERE state = 'closed' AND closed_by_id = ? "
            "AND COALESCE(state_reason, 'completed') = 'completed' "
            "AND (COALESCE(closed_at, ''), repo, number) < (?, ?, ?) LIMIT 1",
            (closer.github_id, closed_at, repo, number),
        )
        if earlier:
            return []
        celebration = Celebration(
            kind=FIRST_ISSUE_CLOSED,
            key=f"{FIRST_ISSUE_CLOSED}:{closer.github_id}",
            github_id=closer.github_id,
            login=closer.login,
            avatar_url=closer.avatar_url,
            seq=event.seq,
            title=p.title or "",
            url=p.url or "",
            repo=repo,
            number=number,
            at=closed_at,
        )
        return [Candidate(celebration)]
