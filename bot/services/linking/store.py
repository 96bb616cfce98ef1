"""The linking tables: links, proofs, attempts and the audit log, with the events every change emits."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot import events as ev
from bot.clock import Clock
from bot.db import Database
from bot.domain import MemberLinked, MemberUnlinked
from bot.errors import UserFacingError
from bot.github.types import GitHubUser
from bot.messages import OutMessage
from bot.outbox import enqueue_dm
from bot.services.linking.models import TAKEN, AuditEntry, Link, LinkFailed, LinkResult, ProofRequest, link_from_row
from bot.services.people import Person, person
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

ATTEMPT_WINDOW = timedelta(hours=1)


async def _one(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    async with conn.execute(sql, params) as cursor:
        return await cursor.fetchone()


class LinkStore:
    """Read and change links; one account ↔ one member, enforced in the same transaction as the events."""

    def __init__(self, db: Database, clock: Clock, *, attempts_per_hour: int, ignored: Iterable[str] = ()) -> None:
        self._db = db
        self._clock = clock
        self._attempts = attempts_per_hour
        self._ignored = {login.lower() for login in ignored}

    # reading ----------------------------------------------------------------------------------------------
    async def link_of_member(self, guild_id: int, discord_id: int) -> Link | None:
        """Return a member's link, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM links WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id)
        )
        return None if row is None else link_from_row(row)

    async def link_of_login(self, guild_id: int, login: str) -> Link | None:
        """Return the link of the account that holds a GitHub login now (case-insensitive).

        A link's login follows renames (migration 0012), so an old login no longer finds it; and when the ledger has
        since seen another account under that login, GitHub gave the login to that account, so it is not this link.
        """
        name = login.strip().removeprefix("@")
        row = await self._db.fetchone(
            "SELECT l.* FROM links l LEFT JOIN github_users u ON u.id = l.github_id WHERE l.guild_id = ? "
            "AND l.login = ? COLLATE NOCASE AND NOT EXISTS (SELECT 1 FROM github_users o WHERE o.login = ? "
            "COLLATE NOCASE AND o.id != l.github_id AND o.updated_at > COALESCE(u.updated_at, l.linked_at)) LIMIT 1",
            (guild_id, name, name),
        )
        return None if row is None else link_from_row(row)

    async def holder(self, guild_id: int, github_id: int) -> int | None:
        """Return the member a GitHub account is linked to, if any."""
        value = await self._db.fetchval(
            "SELECT discord_id FROM links WHERE guild_id = ? AND github_id = ?", (guild_id, github_id)
        )
        return None if value is None else int(value)

    async def account(self, guild_id: int, github_id: int) -> Person | None:
        """Return a GitHub account the ledger knows, with the member linked to it."""
        return await person(self._db, guild_id, github_id)

    async def audit(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """Return the newest maintainer actions on links, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM audit_log WHERE guild_id = ? ORDER BY at DESC, id DESC LIMIT ?", (guild_id, limit)
        )
        return [
            AuditEntry(
                r["actor_id"],
                r["action"],
                r["target_id"],
                r["github_id"],
                r["detail"],
                parse_iso(r["at"]) or self._now(),
            )
            for r in rows
        ]

    # device flows in progress ---------------------------------------------------------------------------
    async def remember_device(self, guild_id: int, discord_id: int, expires_at: datetime) -> None:
        """Note that a member is signing in with GitHub (never the device code: it is a credential)."""
        await self._db.execute(
            "INSERT INTO device_links_pending(guild_id, discord_id, started_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(guild_id, discord_id) DO UPDATE SET started_at = excluded.started_at, "
            "expires_at = excluded.expires_at",
            (guild_id, discord_id, iso(self._now()), iso(expires_at)),
        )

    async def forget_device(self, guild_id: int, discord_id: int) -> None:
        """The member's sign-in ended (linked or failed, and they were told)."""
        await self._db.execute(
            "DELETE FROM device_links_pending WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id)
        )

    async def tell_interrupted_devices(self, message: OutMessage) -> int:
        """Queue ``message`` as a DM to every member whose sign-in a restart cut off; return how many."""
        now = self._now()
        async with self._db.transaction() as conn:
            cursor = await conn.execute("SELECT guild_id, discord_id, started_at FROM device_links_pending")
            rows = list(await cursor.fetchall())
            for row in rows:
                key = f"device-interrupted:{row['guild_id']}:{row['discord_id']}:{row['started_at']}"
                await enqueue_dm(conn, key, int(row["discord_id"]), message, now=now)
            await conn.execute("DELETE FROM device_links_pending")
        return len(rows)

    # attempts and proofs ----------------------------------------------------------------------------------
    async def record_attempt(self, guild_id: int, discord_id: int) -> None:
        """Count a link attempt, or refuse it when the member made too many in the last hour."""
        now = self._now()
        key = (guild_id, discord_id)
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM link_attempts WHERE guild_id = ? AND discord_id = ? AND at <= ?",
                (*key, iso(now - ATTEMPT_WINDOW)),
            )
            async with conn.execute(
                "SELECT at FROM link_attempts WHERE guild_id = ? AND discord_id = ? ORDER BY at", key
            ) as cursor:
                times = [parse_iso(row["at"]) or now for row in await cursor.fetchall()]
            if len(times) >= self._attempts:
                minutes = int((times[0] + ATTEMPT_WINDOW - now).total_seconds() // 60) + 1
                raise UserFacingError(
                    f"You've tried to link {len(times)} times in the last hour; please try again in {minutes} min."
                )
            await conn.execute("INSERT INTO link_attempts(guild_id, discord_id, at) VALUES (?, ?, ?)", (*key, iso(now)))

    async def save_proof(self, guild_id: int, discord_id: int, proof: ProofRequest) -> None:
        """Remember the member's pending phrase (one per member; a new one replaces the old)."""
        await self._db.execute(
            "INSERT INTO link_proofs(guild_id, discord_id, login, phrase, expires_at, github_id) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(guild_id, discord_id) DO UPDATE SET login = excluded.login, "
            "phrase = excluded.phrase, expires_at = excluded.expires_at, github_id = excluded.github_id",
            (guild_id, discord_id, proof.login, proof.phrase, iso(proof.expires_at), proof.github_id),
        )

    async def proof(self, guild_id: int, discord_id: int) -> ProofRequest | None:
        """Return the member's pending phrase, if any (expired or not)."""
        row = await self._db.fetchone(
            "SELECT * FROM link_proofs WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id)
        )
        if row is None:
            return None
        expires_at = parse_iso(row["expires_at"]) or self._now()
        return ProofRequest(row["login"], row["github_id"], row["phrase"], expires_at)

    async def drop_proof(self, guild_id: int, discord_id: int) -> None:
        """Forget the member's pending phrase."""
        await self._db.execute("DELETE FROM link_proofs WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id))

    # changing links ---------------------------------------------------------------------------------------
    async def store(
        self, guild_id: int, discord_id: int, user: GitHubUser, method: str, actor_id: int | None = None
    ) -> LinkResult:
        """Link a member to a proven account; only a maintainer (``actor_id``) may move one from another member."""
        if user.is_bot or user.is_org:
            kind = "a bot" if user.is_bot else "an organisation"
            raise UserFacingError(f"@{user.login} is {kind} account; link your personal GitHub account instead.")
        now = self._now()
        async with self._db.transaction() as conn:
            holder = await _one(conn, "SELECT * FROM links WHERE guild_id = ? AND github_id = ?", (guild_id, user.id))
            mine = await _one(conn, "SELECT * FROM links WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id))
            moved = link_from_row(holder) if holder is not None and holder["discord_id"] != discord_id else None
            if moved is not None and actor_id is None:
                raise LinkFailed(TAKEN, login=user.login)
            await self._remember(conn, user, now)
            await conn.execute("DELETE FROM link_proofs WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id))
            if mine is not None and mine["github_id"] == user.id:
                await conn.execute(
                    "UPDATE links SET login = ? WHERE guild_id = ? AND discord_id = ?",
                    (user.login, guild_id, discord_id),
                )
                return LinkResult(replace(link_from_row(mine), login=user.login), unchanged=True)
            replaced = None if mine is None else link_from_row(mine)
            for old in (moved, replaced):
                if old is not None:
                    await self._remove(conn, old)
            link = Link(guild_id, discord_id, user.id, user.login, method, now)
            await conn.execute(
                "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, discord_id, user.id, user.login, method, iso(now)),
            )
            linked = MemberLinked(guild_id, discord_id, user.id, user.login)
            await ev.append_event(conn, linked, historical=False, now=now)
            if actor_id is not None:
                detail = f"@{user.login}" + (f", moved from <@{moved.discord_id}>" if moved else "")
                await self._audit(conn, guild_id, actor_id, "link", discord_id, user.id, detail)
        log.info("member %s linked to GitHub account %s (%s)", discord_id, user.id, method)
        return LinkResult(link, replaced=replaced, moved_from=moved)

    async def unlink(self, guild_id: int, discord_id: int, actor_id: int | None = None) -> Link:
        """Remove a member's link; ``actor_id`` records a maintainer's action in the audit log."""
        async with self._db.transaction() as conn:
            row = await _one(conn, "SELECT * FROM links WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id))
            if row is None:
                who = "That member has" if actor_id is not None else "You have"
                raise UserFacingError(f"{who} no linked GitHub account, so there is nothing to unlink.")
            old = link_from_row(row)
            await self._remove(conn, old)
            if actor_id is not None:
                await self._audit(conn, guild_id, actor_id, "unlink", discord_id, old.github_id, f"@{old.login}")
        log.info("member %s unlinked from GitHub account %s", discord_id, old.github_id)
        return old

    async def _remove(self, conn: aiosqlite.Connection, old: Link) -> None:
        await conn.execute("DELETE FROM links WHERE guild_id = ? AND discord_id = ?", (old.guild_id, old.discord_id))
        unlinked = MemberUnlinked(old.guild_id, old.discord_id, old.github_id)
        await ev.append_event(conn, unlinked, historical=False, now=self._now())

    async def _remember(self, conn: aiosqlite.Connection, user: GitHubUser, now: datetime) -> None:
        # What GitHub's API said about the account, so announcements and /whois can name it before any PR.
        await conn.execute(
            "INSERT INTO github_users(id, login, is_bot, ignored, avatar_url, updated_at) VALUES (?, ?, 0, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET login = excluded.login, "
            "avatar_url = COALESCE(excluded.avatar_url, avatar_url), updated_at = excluded.updated_at",
            (user.id, user.login, int(user.login.lower() in self._ignored), user.avatar_url, iso(now)),
        )

    async def _audit(
        self, conn: aiosqlite.Connection, guild_id: int, actor_id: int, action: str, target: int, github_id: int,
        detail: str,
    ) -> None:  # fmt: skip
        await conn.execute(
            "INSERT INTO audit_log(guild_id, actor_id, action, target_id, github_id, detail, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild_id, actor_id, action, target, github_id, detail, iso(self._now())),
        )

    def _now(self) -> datetime:
        return self._clock.now()
