"""Read the hall of fame's rows: one indexed query per page, the Discord side checked live against the links."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.db import Database
from bot.services.halloffame.models import Contributor, Filters, FirstPull, Page
from bot.timeutil import parse_iso

ORDER = {
    "count": "h.total DESC, h.sort_name, h.github_id",
    "first": "h.first_at, h.github_id",
    "newest": "h.first_at DESC, h.github_id DESC",
    "name": "h.sort_name, h.github_id",
}
# A row's Discord side shows only while the member who earned it is still linked and has not asked to be forgotten.
COLUMNS = """
h.*, (l.discord_id IS NOT NULL AND COALESCE(p.forgotten, 0) = 0) AS side,
iif(p.public = 1 AND COALESCE(p.forgotten, 0) = 0, p.name, NULL) AS discord_name,
iif(p.public = 1 AND COALESCE(p.forgotten, 0) = 0, p.avatar_url, NULL) AS discord_avatar
"""
JOINS = """
LEFT JOIN links l ON l.guild_id = :guild AND l.github_id = h.github_id AND l.discord_id = h.discord_id
LEFT JOIN member_profiles p ON p.guild_id = :guild AND p.discord_id = l.discord_id
"""


async def _fetch(db: Database, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run a query with named parameters."""
    return list(await db.conn.execute_fetchall(sql, params))


def where(filters: Filters) -> tuple[str, dict[str, Any]]:
    """Build the WHERE clause (for the alias ``h``) and its parameters."""
    clauses = ["h.scope = :scope"]
    params: dict[str, Any] = {"scope": (filters.repo or "").lower()}
    if filters.tier:
        clauses.append("h.tier = :tier")
        params["tier"] = filters.tier
    if filters.kind:
        clauses.append("instr(h.kind_keys, :kind) > 0")
        params["kind"] = f" {filters.kind} "
    return " AND ".join(clauses), params


async def read_page(db: Database, guild_id: int, filters: Filters) -> Page:
    """Read one page: its keys from a covering index (skipped rows are never looked up), then those rows."""
    condition, params = where(filters)
    sql = (
        f"WITH page AS MATERIALIZED (SELECT h.scope, h.github_id FROM hall_of_fame h WHERE {condition} "
        f"ORDER BY {ORDER[filters.sort]} LIMIT :limit OFFSET :offset) "
        f"SELECT {COLUMNS} FROM page JOIN hall_of_fame h ON h.scope = page.scope AND h.github_id = page.github_id "
        f"{JOINS} ORDER BY {ORDER[filters.sort]}"
    )
    params |= {"guild": guild_id, "limit": filters.per_page, "offset": (filters.page - 1) * filters.per_page}
    rows = await _fetch(db, sql, params)
    return Page([contributor(row) for row in rows], 0, filters)


async def count(db: Database, filters: Filters) -> int:
    """Count the contributors the filters match."""
    condition, params = where(filters)
    rows = await _fetch(db, f"SELECT COUNT(*) AS n FROM hall_of_fame h WHERE {condition}", params)
    return int(rows[0]["n"]) if rows else 0


async def read_person(db: Database, guild_id: int, login: str) -> dict[str, Contributor]:
    """Read one contributor's rows, by scope ('' is every repository)."""
    rows = await _fetch(
        db,
        f"SELECT {COLUMNS} FROM hall_of_fame h {JOINS} WHERE h.sort_name = :login ORDER BY h.scope",
        {"guild": guild_id, "login": login.lower()},
    )
    return {str(row["scope"]): contributor(row) for row in rows}


async def read_newcomers(db: Database, guild_id: int, limit: int) -> list[Contributor]:
    """Read the newest first-timers: those whose first merged pull request is the most recent."""
    rows = await _fetch(
        db,
        f"SELECT {COLUMNS} FROM hall_of_fame h {JOINS} WHERE h.scope = '' AND h.first_pr_at IS NOT NULL "
        "ORDER BY h.first_pr_at DESC LIMIT :limit",
        {"guild": guild_id, "limit": limit},
    )
    return [contributor(row) for row in rows]


async def read_all(db: Database, guild_id: int, scope: str, batch: int = 5000) -> list[Contributor]:
    """Read every contributor of a scope, oldest contribution first (for exports)."""
    found: list[Contributor] = []
    while True:
        rows = await _fetch(
            db,
            f"SELECT {COLUMNS} FROM hall_of_fame h {JOINS} WHERE h.scope = :scope "
            "ORDER BY h.first_at, h.github_id LIMIT :limit OFFSET :offset",
            {"guild": guild_id, "scope": scope.lower(), "limit": batch, "offset": len(found)},
        )
        found += [contributor(row) for row in rows]
        if len(rows) < batch:
            return found


def github_kinds(row: Any) -> dict[str, int]:
    """The kinds GitHub alone shows: code for merged pull requests, review for reviews."""
    kinds = {"code": int(row["merged_prs"]), "review": int(row["reviews"])}
    return {kind: n for kind, n in kinds.items() if n}


def contributor(row: Any) -> Contributor:
    """Turn a row into a contributor, leaving out the Discord side when it must not show."""
    side = bool(row["side"])
    first = None
    if row["first_number"] is not None:
        first = FirstPull(
            str(row["first_repo"]),
            int(row["first_number"]),
            str(row["first_title"] or ""),
            str(row["first_url"] or ""),
            parse_iso(row["first_pr_at"]),
        )
    return Contributor(
        github_id=int(row["github_id"]),
        login=str(row["login"]),
        avatar_url=row["avatar_url"],
        tier=row["tier"] if side else None,
        tier_rank=int(row["tier_rank"]) if side else -1,
        first_at=parse_iso(row["first_at"]),
        first_pr=first,
        merged_prs=int(row["merged_prs"]),
        reviews=int(row["reviews"]),
        issues_closed=int(row["issues_closed"]),
        merges=int(row["merges"]),
        total=int(row["total"]),
        kudos=int(row["kudos"]) if side else 0,
        kinds=json.loads(row["kinds"]) if side else github_kinds(row),
        discord_name=row["discord_name"] if side else None,
        discord_avatar=row["discord_avatar"] if side else None,
    )


def names(rows: Sequence[Contributor]) -> list[str]:
    """List the logins of contributors (for logs and tests)."""
    return [row.login for row in rows]
