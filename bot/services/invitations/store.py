"""The invitations table: rows become dataclasses here, and every change the sender records is one statement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.db import Database
from bot.services.invitations.render import InvitationText
from bot.timeutil import iso, parse_iso

COLUMNS = (
    "id, guild_id, github_id, login, repo, number, title, state, attempts, last_error, sending_at, comment_id, "
    "celebrated_at, edited_at"
)


@dataclass(frozen=True)
class Invitation:
    """One invitation and how far it got."""

    id: int
    guild_id: int
    github_id: int
    login: str
    repo: str
    number: int
    title: str
    state: str
    attempts: int
    last_error: str | None
    sending_at: datetime | None
    comment_id: int | None
    celebrated: bool
    edited: bool

    @property
    def text(self) -> InvitationText:
        """What the comment shows."""
        return InvitationText(self.github_id, self.login, self.repo, self.number, self.title)


@dataclass(frozen=True)
class InvitationCounts:
    """What /vestry status shows about invitations."""

    sent: int
    pending: int
    failed: int
    cancelled: int
    celebrated: int


def _row(r: aiosqlite.Row) -> Invitation:
    return Invitation(
        id=int(r["id"]),
        guild_id=int(r["guild_id"]),
        github_id=int(r["github_id"]),
        login=str(r["login"]),
        repo=str(r["repo"]),
        number=int(r["number"]),
        title=str(r["title"]),
        state=str(r["state"]),
        attempts=int(r["attempts"]),
        last_error=r["last_error"],
        sending_at=parse_iso(r["sending_at"]),
        comment_id=None if r["comment_id"] is None else int(r["comment_id"]),
        celebrated=r["celebrated_at"] is not None,
        edited=r["edited_at"] is not None,
    )


class InvitationStore:
    """Read and update invitation rows for the sender and for status."""

    def __init__(self, db: Database, guild_id: int) -> None:
        self._db = db
        self._guild = guild_id

    async def due(self, now: datetime, limit: int) -> list[Invitation]:
        """Pending invitations whose time has come, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM invitations WHERE guild_id = ? AND state = 'pending' AND not_before <= ? "
            "ORDER BY id LIMIT ?",
            (self._guild, iso(now), limit),
        )
        return [_row(row) for row in rows]

    async def catch_celebrated(self, now: datetime) -> int:
        """Ask for the edit of sent invitations whose author is linked and celebrated but was not marked so.

        The decider marks them when it handles the link or the merge; this catches an author whose celebration
        was recorded just after the decider looked (the two consumers read the event log side by side).
        """
        rows = await self._db.execute_returning(
            "UPDATE invitations SET celebrated_at = ?, not_before = ? WHERE guild_id = ? AND state = 'sent' "
            "AND celebrated_at IS NULL "
            "AND EXISTS (SELECT 1 FROM links l WHERE l.guild_id = invitations.guild_id "
            "AND l.github_id = invitations.github_id) "
            "AND EXISTS (SELECT 1 FROM celebrations c WHERE c.guild_id = invitations.guild_id "
            "AND c.github_id = invitations.github_id) RETURNING id",
            (iso(now), iso(now), self._guild),
        )
        return len(rows)

    async def edits_due(self, now: datetime, limit: int = 20) -> list[Invitation]:
        """Sent invitations whose author has since been celebrated, and whose comment is not edited yet."""
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM invitations WHERE guild_id = ? AND state = 'sent' AND celebrated_at IS NOT NULL "
            "AND edited_at IS NULL AND not_before <= ? ORDER BY id LIMIT ?",
            (self._guild, iso(now), limit),
        )
        return [_row(row) for row in rows]

    async def next_due(self) -> datetime | None:
        """When the next pending invitation or edit is due."""
        value = await self._db.fetchval(
            "SELECT MIN(not_before) FROM invitations WHERE guild_id = ? AND (state = 'pending' OR (state = 'sent' "
            "AND celebrated_at IS NOT NULL AND edited_at IS NULL))",
            (self._guild,),
        )
        return parse_iso(value)

    async def sent_since(self, since: datetime) -> tuple[int, datetime | None]:
        """How many invitations were posted since ``since``, and when the oldest of them was."""
        row = await self._db.fetchone(
            "SELECT COUNT(*), MIN(sent_at) FROM invitations WHERE guild_id = ? AND sent_at >= ?",
            (self._guild, iso(since)),
        )
        return (0, None) if row is None else (int(row[0]), parse_iso(row[1]))

    async def still_wanted(self, item: Invitation, opt_out: list[str]) -> str | None:
        """Say why an invitation is no longer wanted (the author linked, the PR got an opt-out label), or None."""
        linked = await self._db.fetchval(
            "SELECT 1 FROM links WHERE guild_id = ? AND github_id = ?", (self._guild, item.github_id)
        )
        if linked:
            return "the author linked their account before the invitation was posted"
        labels = await self._db.fetchval(
            "SELECT labels FROM pull_requests WHERE repo = ? AND number = ?", (item.repo, item.number)
        )
        if labels and opted_out(str(labels), opt_out):
            return "the pull request carries an opt-out label"
        return None

    async def sending(self, item: Invitation, now: datetime) -> None:
        """Note that the comment is about to be posted (so a crash after it is looked for, not repeated)."""
        await self._db.execute("UPDATE invitations SET sending_at = ? WHERE id = ?", (iso(now), item.id))

    async def sent(self, item: Invitation, comment_id: int, url: str, now: datetime) -> None:
        """Record the posted comment."""
        await self._db.execute(
            "UPDATE invitations SET state = 'sent', sent_at = ?, comment_id = ?, comment_url = ?, last_error = NULL "
            "WHERE id = ?",
            (iso(now), comment_id, url, item.id),
        )

    async def retry(self, item: Invitation, error: str, at: datetime) -> None:
        """Try again at ``at``."""
        await self._db.execute(
            "UPDATE invitations SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE id = ?",
            (error[:500], iso(at), item.id),
        )

    async def end(self, item: Invitation, state: str, error: str, now: datetime) -> None:
        """End an invitation as ``failed`` or ``cancelled``."""
        await self._db.execute(
            "UPDATE invitations SET state = ?, attempts = attempts + 1, last_error = ?, not_before = ? WHERE id = ?",
            (state, error[:500], iso(now), item.id),
        )

    async def edited(self, item: Invitation, now: datetime, error: str | None = None) -> None:
        """Record the edit (or why it can never be made)."""
        await self._db.execute(
            "UPDATE invitations SET edited_at = ?, last_error = ? WHERE id = ?", (iso(now), error, item.id)
        )

    async def last_failure(self) -> str | None:
        """The error of the invitation that failed last."""
        value = await self._db.fetchval(
            "SELECT last_error FROM invitations WHERE guild_id = ? AND state = 'failed' ORDER BY not_before DESC, "
            "id DESC LIMIT 1",
            (self._guild,),
        )
        return None if value is None else str(value)

    async def counts(self, now: datetime) -> InvitationCounts:
        """Count invitations by state."""
        rows = await self._db.fetchall(
            "SELECT state, COUNT(*), SUM(edited_at IS NOT NULL) FROM invitations WHERE guild_id = ? GROUP BY state",
            (self._guild,),
        )
        by_state = {str(row[0]): int(row[1]) for row in rows}
        celebrated = sum(int(row[2] or 0) for row in rows)
        return InvitationCounts(
            sent=by_state.get("sent", 0),
            pending=by_state.get("pending", 0),
            failed=by_state.get("failed", 0),
            cancelled=by_state.get("cancelled", 0),
            celebrated=celebrated,
        )


def opted_out(labels_json: str, opt_out: list[str]) -> bool:
    """Tell whether a pull request's labels (as stored, a JSON list) include an opt-out label (any case)."""
    try:
        labels = json.loads(labels_json)
    except ValueError:
        return False
    wanted = {name.casefold() for name in opt_out}
    return any(isinstance(label, str) and label.casefold() in wanted for label in labels)


def backoff(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed tries: a minute, doubling, at most an hour."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))
