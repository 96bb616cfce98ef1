"""The ladder's SQL: tier grants, promotion requests, and what became of the outbox rows it wrote."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from bot.counting import account_counts, is_ignored
from bot.timeutil import iso, parse_iso

RowState = Literal["pending", "done", "failed"]


@dataclass(frozen=True)
class LinkRow:
    """A member's linked GitHub account, with whether it is a bot or ignored."""

    github_id: int
    login: str
    excluded: bool


@dataclass(frozen=True)
class PromotionRequest:
    """A promotion waiting for (or decided by) a maintainer."""

    id: int
    guild_id: int
    discord_id: int
    tier: str
    status: str
    decided_by: int | None


# One trip to the database thread per statement (execute_fetchall), not three (execute, fetch, close): each trip
# costs an event-loop wake-up, more than these indexed reads themselves (benchmarks/RESULTS.md, queries).
async def _one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def _all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def link_of(
    conn: aiosqlite.Connection, guild_id: int, discord_id: int, ignored: Iterable[str] = ()
) -> LinkRow | None:
    """Return the member's link, if any; ``ignored`` logins count as excluded even before the ledger knows them."""
    row = await _one(
        conn,
        "SELECT l.github_id, COALESCE(u.login, l.login) AS login, COALESCE(u.is_bot, 0) AS is_bot, "
        "COALESCE(u.ignored, 0) AS ignored, COALESCE(u.is_org, 0) AS is_org "
        "FROM links l LEFT JOIN github_users u ON u.id = l.github_id "
        "WHERE l.guild_id = ? AND l.discord_id = ?",
        (guild_id, discord_id),
    )
    if row is None:
        return None
    login = str(row["login"])
    counts = account_counts(
        int(row["github_id"]),
        login,
        is_bot=bool(row["is_bot"]),
        is_org=bool(row["is_org"]),
        ignored=bool(row["ignored"]) or is_ignored(login, ignored),
    )
    excluded = not counts
    return LinkRow(int(row["github_id"]), login, excluded)


async def members_by_account(conn: aiosqlite.Connection, guild_id: int, github_ids: Iterable[int]) -> dict[int, int]:
    """Return the member linked to each of these GitHub accounts that is linked, by account."""
    wanted = sorted(set(github_ids))
    if not wanted:
        return {}
    rows = await _all(
        conn,
        "SELECT github_id, discord_id FROM links WHERE guild_id = ? AND github_id IN (SELECT value FROM json_each(?))",
        (guild_id, json.dumps(wanted)),
    )
    return {int(row["github_id"]): int(row["discord_id"]) for row in rows}


async def linked_members(conn: aiosqlite.Connection, guild_id: int, after: int, limit: int) -> list[int]:
    """Return a page of linked members in id order, after ``after``."""
    rows = await _all(
        conn,
        "SELECT discord_id FROM links WHERE guild_id = ? AND discord_id > ? ORDER BY discord_id LIMIT ?",
        (guild_id, after, limit),
    )
    return [int(row["discord_id"]) for row in rows]


async def grants(conn: aiosqlite.Connection, guild_id: int, discord_id: int) -> dict[str, datetime]:
    """Return the tiers Vestry granted the member, with when (re)granted."""
    rows = await _all(
        conn,
        "SELECT tier, granted_at AS value FROM tier_grants WHERE guild_id = ? AND discord_id = ?",
        (guild_id, discord_id),
    )
    return _grants(rows)


def _grants(rows: Iterable[aiosqlite.Row]) -> dict[str, datetime]:
    """Map tiers to when they were granted, from rows of (tier, value: the grant's time)."""
    found: dict[str, datetime] = {}
    for row in rows:
        when = parse_iso(row["value"])
        if when is not None:
            found[str(row["tier"])] = when
    return found


async def put_grant(conn: aiosqlite.Connection, guild_id: int, discord_id: int, tier: str, now: datetime) -> None:
    """Record (or renew) a grant."""
    await conn.execute(
        "INSERT INTO tier_grants(guild_id, discord_id, tier, granted_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(guild_id, discord_id, tier) DO UPDATE SET granted_at = excluded.granted_at",
        (guild_id, discord_id, tier, iso(now)),
    )


async def drop_grants(conn: aiosqlite.Connection, guild_id: int, discord_id: int, tiers: Iterable[str]) -> None:
    """Forget grants."""
    for tier in tiers:
        await conn.execute(
            "DELETE FROM tier_grants WHERE guild_id = ? AND discord_id = ? AND tier = ?", (guild_id, discord_id, tier)
        )


async def grants_and_approvals(
    conn: aiosqlite.Connection, guild_id: int, discord_id: int
) -> tuple[dict[str, datetime], dict[str, str]]:
    """Return the member's grants (as :func:`grants`) and each tier's promotion-request status, in one statement."""
    rows = await _all(
        conn,
        "SELECT 'grant' AS source, tier, granted_at AS value FROM tier_grants WHERE guild_id = ? AND discord_id = ? "
        "UNION ALL "
        "SELECT 'request', tier, status FROM promotion_requests WHERE guild_id = ? AND discord_id = ?",
        (guild_id, discord_id, guild_id, discord_id),
    )
    return _grants([row for row in rows if row["source"] == "grant"]), {
        str(row["tier"]): str(row["value"]) for row in rows if row["source"] == "request"
    }


async def open_request(
    conn: aiosqlite.Connection, guild_id: int, discord_id: int, tier: str, now: datetime
) -> int | None:
    """Create a pending request; return its id, or None when one exists already."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO promotion_requests(guild_id, discord_id, tier, status, created_at) "
        "VALUES (?, ?, ?, 'pending', ?)",
        (guild_id, discord_id, tier, iso(now)),
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


async def request_by_id(conn: aiosqlite.Connection, request_id: int) -> PromotionRequest | None:
    """Load a promotion request."""
    row = await _one(
        conn,
        "SELECT id, guild_id, discord_id, tier, status, decided_by FROM promotion_requests WHERE id = ?",
        (request_id,),
    )
    if row is None:
        return None
    decided_by = None if row["decided_by"] is None else int(row["decided_by"])
    return PromotionRequest(
        int(row["id"]), int(row["guild_id"]), int(row["discord_id"]), str(row["tier"]), str(row["status"]), decided_by
    )


async def decide_request(conn: aiosqlite.Connection, request_id: int, status: str, by: int, now: datetime) -> bool:
    """Record a maintainer's decision on a pending request; False when it was decided already."""
    cursor = await conn.execute(
        "UPDATE promotion_requests SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
        (status, by, iso(now), request_id),
    )
    return cursor.rowcount == 1


async def drop_pending_requests(conn: aiosqlite.Connection, guild_id: int, discord_id: int) -> None:
    """Forget requests nobody decided (the link they were for is gone)."""
    await conn.execute(
        "DELETE FROM promotion_requests WHERE guild_id = ? AND discord_id = ? AND status = 'pending'",
        (guild_id, discord_id),
    )


async def outbox_state(conn: aiosqlite.Connection, dedupe_key: str) -> RowState | None:
    """Tell what became of an outbox row: still pending, done, failed, or unknown."""
    row = await _one(conn, "SELECT done_at, failed FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
    if row is None:
        return None
    if row["done_at"] is None:
        return "pending"
    return "failed" if row["failed"] else "done"


async def get_json(conn: aiosqlite.Connection, key: str) -> dict[str, Any] | None:
    """Read a JSON value from the state table."""
    row = await _one(conn, "SELECT value FROM state WHERE key = ?", (key,))
    return None if row is None else dict(json.loads(row["value"]))


async def put_json(conn: aiosqlite.Connection, key: str, value: dict[str, Any]) -> None:
    """Write a JSON value to the state table."""
    await conn.execute(
        "INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, sort_keys=True)),
    )
