"""Who is who: GitHub accounts, Discord members and the links between them (read side)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from bot.counting import account_counts
from bot.db import Database


@dataclass(frozen=True)
class Person:
    """A GitHub account and, when linked, the Discord member behind it."""

    github_id: int
    login: str
    is_bot: bool
    ignored: bool
    avatar_url: str | None
    discord_id: int | None
    is_org: bool = False

    @property
    def excluded(self) -> bool:
        """Accounts whose work does not count (bot/counting.py) are never celebrated, promoted or nudged about."""
        return not account_counts(
            self.github_id, self.login, is_bot=self.is_bot, is_org=self.is_org, ignored=self.ignored
        )


PERSON = (
    "SELECT u.id, u.login, u.is_bot, u.ignored, u.avatar_url, l.discord_id, u.is_org FROM github_users u "
    "LEFT JOIN links l ON l.github_id = u.id AND l.guild_id = ? "
)


def _person(row: aiosqlite.Row) -> Person:
    return Person(
        row["id"],
        row["login"],
        bool(row["is_bot"]),
        bool(row["ignored"]),
        row["avatar_url"],
        row["discord_id"],
        bool(row["is_org"]),
    )


async def person(db: Database, guild_id: int, github_id: int) -> Person | None:
    """Look a GitHub account up, with its linked member."""
    row = await db.fetchone(PERSON + "WHERE u.id = ?", (guild_id, github_id))
    return None if row is None else _person(row)


async def people(conn: aiosqlite.Connection, guild_id: int, github_ids: Iterable[int]) -> dict[int, Person]:
    """Look many GitHub accounts up at once (one trip to the database), by id; unknown ids are left out."""
    wanted = json.dumps(sorted(set(github_ids)))
    rows = await conn.execute_fetchall(PERSON + "WHERE u.id IN (SELECT value FROM json_each(?))", (guild_id, wanted))
    return {int(row["id"]): _person(row) for row in rows}


async def person_by_login(db: Database, guild_id: int, login: str) -> Person | None:
    """Look a GitHub account up by login (case-insensitive)."""
    github_id = await db.fetchval(
        "SELECT id FROM github_users WHERE login = ? COLLATE NOCASE ORDER BY updated_at DESC LIMIT 1", (login,)
    )
    return None if github_id is None else await person(db, guild_id, int(github_id))


async def discord_for_github(db: Database, guild_id: int, github_id: int) -> int | None:
    """Return the member linked to a GitHub account, if any."""
    value = await db.fetchval(
        "SELECT discord_id FROM links WHERE guild_id = ? AND github_id = ?", (guild_id, github_id)
    )
    return None if value is None else int(value)


async def github_for_discord(db: Database, guild_id: int, discord_id: int) -> tuple[int, str] | None:
    """Return the GitHub id and login linked to a member, if any."""
    row = await db.fetchone(
        "SELECT github_id, login FROM links WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id)
    )
    return None if row is None else (int(row["github_id"]), str(row["login"]))
