"""Followed repositories by GitHub's id: canonical names, case-insensitive matching, renames and transfers.

``config.toml`` names repositories as ``owner/name``; GitHub's names are case-insensitive and can change
(a rename or a transfer), while the repository's id never does. At start-up each configured name is resolved
once to GitHub's spelling and id. From then on a webhook or poll that shows the same id under another name is
the same repository: the ledger's rows move to the new name, and ``/vestry status`` asks to update the
configuration. Everything the ledger stores is keyed by the current canonical name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.clock import Clock
from bot.db import Database
from bot.github.types import GitHubError
from bot.i18n import N_, Notice
from bot.timeutil import iso

log = logging.getLogger(__name__)

REPO_TABLES = ("pull_requests", "issues", "stars", "reviews", "review_requests", "review_acks", "invitations")
STATE_PREFIXES = (
    "poll:etag:",
    "poll:cursor:",
    "poll:stars:",
    "backfill:cursor:",
    "backfill:done:",
    "backfill:waiting:",
)


@dataclass
class RepoRecord:
    """One followed repository: GitHub's id, its current name, the configured name, and a rename if any."""

    configured: str
    full_name: str
    id: int | None = None
    renamed_from: str | None = None


async def move_rows(conn: aiosqlite.Connection, old: str, new: str) -> None:
    """Move every ledger row and saved cursor of repository ``old`` (any case) to ``new``, merging duplicates."""
    if old == new:
        return
    for table in REPO_TABLES:
        where = "WHERE lower(repo) = lower(?) AND repo != ?"
        await conn.execute(f"UPDATE OR IGNORE {table} SET repo = ? {where}", (new, old, new))
        await conn.execute(f"DELETE FROM {table} {where}", (old, new))
    rows = await conn.execute_fetchall("SELECT key FROM state WHERE key LIKE ?", ("%:" + old.replace("%", "") + "%",))
    for (key,) in rows:
        for prefix in STATE_PREFIXES:
            rest = str(key)[len(prefix) :] if str(key).startswith(prefix) else None
            if rest is not None and rest.lower().startswith(old.lower()):
                moved = prefix + new + rest[len(old) :]
                await conn.execute("UPDATE OR REPLACE state SET key = ? WHERE key = ?", (moved, key))


class Repositories:
    """The followed repositories, matched by id (webhooks, polls) and by name in any case."""

    def __init__(self, configured: Iterable[str]) -> None:
        self.records = [RepoRecord(configured=name, full_name=name) for name in configured]
        self._moves: list[tuple[str, str]] = []

    # looking up -----------------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Return the current canonical names, in configuration order."""
        return [record.full_name for record in self.records]

    def find(self, name: str | None = None, repo_id: int | None = None) -> RepoRecord | None:
        """Return the followed repository with that id, or else that name (current or configured, any case)."""
        if repo_id is not None:
            for record in self.records:
                if record.id == repo_id:
                    return record
        if name is None:
            return None
        folded = name.lower()
        for record in self.records:
            if folded in (record.full_name.lower(), record.configured.lower()):
                return record
        return None

    def canonical(self, name: str) -> str:
        """Return the current name of a followed repository given by any of its names (else ``name``)."""
        record = self.find(name)
        return record.full_name if record else name

    def needles(self) -> list[bytes]:
        """Return what a webhook body must contain to possibly concern a followed repository (names and ids)."""
        found = {record.full_name.lower().encode() for record in self.records}
        found |= {record.configured.lower().encode() for record in self.records}
        found |= {str(record.id).encode() for record in self.records if record.id is not None}
        return sorted(found)

    # following (a GitHub App's installation changes what is followed) ------------------------------------------
    def follow(self, name: str, repo_id: int | None = None) -> RepoRecord:
        """Start following ``name`` (a repository a GitHub App was installed on); known ones are kept as they are."""
        record = self.find(name, repo_id)
        if record is None:
            record = RepoRecord(configured=name, full_name=name, id=repo_id)
            self.records.append(record)
        elif record.id is None:
            record.id = repo_id
        return record

    def unfollow(self, name: str, repo_id: int | None = None) -> RepoRecord | None:
        """Stop following a repository (the App was uninstalled from it); return what was followed, if anything."""
        record = self.find(name, repo_id)
        if record is not None:
            self.records.remove(record)
        return record

    # renames --------------------------------------------------------------------------------------------------
    def observe(self, payload: Mapping[str, Any]) -> RepoRecord | None:
        """Match a webhook's ``repository`` to a followed one by id (or name); note a rename it reveals."""
        repository = payload.get("repository")
        if not isinstance(repository, Mapping):
            return None
        name = repository.get("full_name") if isinstance(repository.get("full_name"), str) else None
        repo_id = repository.get("id") if isinstance(repository.get("id"), int) else None
        record = self.find(name, repo_id)
        if record is None:
            return None
        if record.id is None and repo_id is not None and name and name.lower() == record.full_name.lower():
            record.id = repo_id
        if name and repo_id is not None and record.id == repo_id and name != record.full_name:
            self.renamed(record, name)
        return record

    def renamed(self, record: RepoRecord, new_name: str) -> None:
        """Follow a rename or transfer (or GitHub's own spelling): rows move on the next :meth:`apply_moves`."""
        old = record.full_name
        if old == new_name:
            return
        if old.lower() != new_name.lower() or record.renamed_from is not None:
            record.renamed_from = record.renamed_from or old
            log.warning("%s is now %s on GitHub; update config.toml", old, new_name)
        record.full_name = new_name
        self._moves.append((old, new_name))

    async def apply_moves(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        """Inside the caller's transaction: move rows of renamed repositories and record the names."""
        moves, self._moves = self._moves, []
        for old, new in moves:
            await move_rows(conn, old, new)
        if moves:
            await self._save(conn, clock)

    async def _save(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        now = iso(clock.now())
        for record in self.records:
            if record.id is None:
                continue
            await conn.execute(
                "INSERT INTO repositories(id, full_name, configured, renamed_from, renamed_at, updated_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET full_name = excluded.full_name, "
                "configured = excluded.configured, renamed_from = COALESCE(excluded.renamed_from, renamed_from), "
                "renamed_at = CASE WHEN excluded.renamed_from IS NOT NULL AND renamed_from IS NULL "
                "THEN excluded.renamed_at ELSE renamed_at END, updated_at = excluded.updated_at",
                (record.id, record.full_name, record.configured, record.renamed_from, now, now),
            )

    # start-up -------------------------------------------------------------------------------------------------
    async def load(self, db: Database) -> None:
        """Take what earlier runs learnt (ids, current names, renames) from the database."""
        rows = await db.fetchall("SELECT id, full_name, configured, renamed_from FROM repositories")
        for row in rows:
            record = self.find(str(row["configured"]))
            if record is not None:
                record.id, record.full_name = int(row["id"]), str(row["full_name"])
                record.renamed_from = row["renamed_from"]

    async def resolve(self, db: Database, clock: Clock, fetch: Any) -> None:
        """Ask GitHub (``fetch(name)`` → repository JSON) for each repository's id and spelling; move rows."""
        await self.load(db)
        for record in self.records:
            try:
                data = await fetch(record.full_name)
            except GitHubError as exc:
                log.warning("cannot resolve %s on GitHub now (%s); using the stored name", record.full_name, exc)
                continue
            if not isinstance(data, Mapping) or "id" not in data:
                continue
            record.id = int(data["id"])
            self.renamed(record, str(data.get("full_name") or record.full_name))
            self._moves.append((record.configured, record.full_name))
        async with db.transaction() as conn:
            await self.apply_moves(conn, clock)
            await self._save(conn, clock)

    def problems(self) -> list[str]:
        """Lines for ``/vestry status``: repositories renamed or transferred since the configuration was written."""
        return [
            Notice(
                N_("{configured}: renamed from {old} to {new}; update config.toml (Vestry follows it by id meanwhile)"),
                configured=record.configured,
                old=record.renamed_from,
                new=record.full_name,
            )
            for record in self.records
            if record.renamed_from is not None and record.configured.lower() != record.full_name.lower()
        ]
