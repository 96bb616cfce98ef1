"""The leaderboard: who did the most of one kind of contribution in a period, ten a page, in one GROUP BY each.

GitHub categories rank GitHub accounts (a linked one shows as its member, an unlinked one by login; bots and
ignored accounts never appear); kudos ranks members. A period's board is one aggregate over an index that starts
with the period's time column. The all-time board of a GitHub category reads the per-person totals that
migration 0008's triggers keep (``contribution_totals``): a page is a slice of one index, and a rank is one plus
the number of people with a higher count, summed over how many people have each count (``contribution_counts``),
so neither depends on how long the project's history is nor, much, on how many people it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.counting import COUNTED_ACCOUNT
from bot.db import Database
from bot.errors import UserFacingError
from bot.services.people import github_for_discord
from bot.timeutil import iso

PAGE_SIZE = 10

CATEGORIES: dict[str, tuple[str, str]] = {
    "merged_prs": ("merged PRs", "merged PR"),
    "reviews": ("reviews", "review"),
    "merges": ("merges", "merge"),
    "issues_closed": ("issues closed", "issue closed"),
    "kudos": ("kudos", "kudos"),
}
PERIODS: dict[str, tuple[str, timedelta | None]] = {
    "week": ("the last 7 days", timedelta(days=7)),
    "month": ("the last 30 days", timedelta(days=30)),
    "year": ("the last 365 days", timedelta(days=365)),
    "all": ("all time", None),
}
_ALIASES = {
    "merged prs": "merged_prs",
    "prs": "merged_prs",
    "pull requests": "merged_prs",
    "issues": "issues_closed",
    "issues closed": "issues_closed",
    "closed issues": "issues_closed",
    "all time": "all",
    "all_time": "all",
    "alltime": "all",
}

# (table, person column, time column, filter) per GitHub category; the filters match the partial indexes.
_GITHUB_SOURCES: dict[str, tuple[str, str, str, str]] = {
    # Each source is one of the views of bot/counting.py's rule.
    "merged_prs": ("counted_merged_prs", "author_id", "merged_at", "author_id IS NOT NULL"),
    "reviews": ("counted_reviews", "reviewer_id", "submitted_at", "reviewer_id IS NOT NULL"),
    "merges": ("counted_merges", "merged_by_id", "merged_at", "merged_by_id IS NOT NULL"),
    "issues_closed": ("counted_issue_closes", "closed_by_id", "closed_at", "closed_by_id IS NOT NULL"),
}

# Who a total belongs to: the account's login and, when linked in this guild, its member.
_PEOPLE = "JOIN github_users u ON u.id = t.github_id LEFT JOIN links l ON l.guild_id = ? AND l.github_id = t.github_id"
# A person's all-time total.
_TOTALS = f"SELECT t.github_id AS who, t.n, u.login, l.discord_id FROM contribution_totals t {_PEOPLE}"
# One page of a category: the offset is walked in the index contribution_totals_board alone, and only the page's
# ten people are looked up.
_PAGE = (
    "SELECT t.github_id AS who, t.n, u.login, l.discord_id FROM (SELECT github_id, n, sort_name "
    "FROM contribution_totals WHERE category = ? AND listed = 1 AND n > 0 "
    f"ORDER BY n DESC, sort_name, github_id LIMIT ? OFFSET ?) t {_PEOPLE} "
    "ORDER BY t.n DESC, t.sort_name, t.github_id"
)


@dataclass(frozen=True)
class Entry:
    """One row of the board: a member (``discord_id``) and/or a GitHub login, and their count."""

    rank: int
    count: int
    discord_id: int | None
    login: str | None


@dataclass(frozen=True)
class Board:
    """One page of the leaderboard, with the viewer's own place."""

    category: str
    period: str
    page: int
    pages: int
    total: int
    entries: tuple[Entry, ...]
    viewer: Entry | None
    viewer_linked: bool

    @property
    def label(self) -> str:
        """The category's name, plural."""
        return CATEGORIES[self.category][0]

    @property
    def period_label(self) -> str:
        """The period in words."""
        return PERIODS[self.period][0]

    def noun(self, count: int) -> str:
        """The category's noun for a count ("1 merged PR", "2 merged PRs")."""
        plural, singular = CATEGORIES[self.category]
        return singular if count == 1 else plural


def parse_category(value: str | None) -> str:
    """Read a category option (value or name, any case); a clear error lists the choices."""
    return _parse(value, "merged_prs", CATEGORIES, "category", [label for label, _ in CATEGORIES.values()])


def parse_period(value: str | None) -> str:
    """Read a period option (value or name, any case); a clear error lists the choices."""
    return _parse(value, "all", PERIODS, "period", ["week", "month", "year", "all time"])


def _parse(value: str | None, default: str, known: dict[str, Any], what: str, names: list[str]) -> str:
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    text = _ALIASES.get(text, text).replace(" ", "_")
    if text in known:
        return text
    for key, entry in known.items():
        if str(entry[0]).lower() == value.strip().lower():
            return key
    raise UserFacingError(f"Unknown {what} {value.strip()[:50]!r}: choose one of {', '.join(names)}.")


class Leaderboard:
    """Rank people by one category of contribution over a period."""

    def __init__(self, db: Database, clock: Clock, *, totals: bool = True) -> None:
        """``totals=False`` counts all time from the ledger itself, as every period is counted (the tests compare
        both ways; the benchmarks' baseline runs without migration 0008)."""
        self._db = db
        self._clock = clock
        self._totals = totals

    async def board(self, guild_id: int, category: str, period: str, page: int, viewer_id: int) -> Board:
        """Return one page (clamped to the pages there are) and where the viewer stands."""
        link = await github_for_discord(self._db, guild_id, viewer_id)
        viewer_github = None if link is None else link[0]
        window = PERIODS[period][1]
        if window is None and category != "kudos" and self._totals:
            return await self._all_time(guild_id, category, page, viewer_github)
        since = None if window is None else iso(self._clock.now() - window)
        ranked, params = self._ranked(category, guild_id, since)
        page = max(page, 0)
        rows = await self._page(ranked, params, page)
        if rows:
            total = int(rows[0]["total"])
        else:
            total = int(await self._db.fetchval(f"{ranked} SELECT COUNT(*) FROM ranked", params, default=0))
            if total and page * PAGE_SIZE >= total:
                page = (total - 1) // PAGE_SIZE  # the list shrank since the button was drawn
                rows = await self._page(ranked, params, page)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        entries = tuple(_entry(row) for row in rows)
        me = viewer_id if category == "kudos" else viewer_github
        viewer = None
        if me is not None:
            row = await self._db.fetchone(
                f"{ranked} SELECT who, n, rk, login, discord_id FROM ranked WHERE who = ?", (*params, me)
            )
            viewer = None if row is None else _entry(row)
        linked = category == "kudos" or viewer_github is not None
        return Board(category, period, page, pages, total, entries, viewer, linked)

    async def _all_time(self, guild_id: int, category: str, page: int, viewer_github: int | None) -> Board:
        """One page of an all-time GitHub board, from the totals (same ranks and order as the aggregate)."""
        total = await self._people_above(category, 0)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 0), pages - 1)  # the list may have shrunk since the button was drawn
        rows = await self._db.fetchall(_PAGE, (category, PAGE_SIZE, page * PAGE_SIZE, guild_id))
        entries: list[Entry] = []
        for index, row in enumerate(rows):
            if entries and entries[-1].count == int(row["n"]):
                rank = entries[-1].rank  # ties share a rank
            elif entries:
                rank = page * PAGE_SIZE + index + 1  # everyone above on this list has more
            else:
                rank = 1 + await self._people_above(category, int(row["n"]))
            entries.append(_entry({**dict(row), "rk": rank}))
        viewer = None
        if viewer_github is not None:
            mine = await self._db.fetchone(
                f"{_TOTALS} WHERE t.github_id = ? AND t.category = ? AND t.listed = 1 AND t.n > 0",
                (guild_id, viewer_github, category),
            )
            if mine is not None:
                viewer = _entry({**dict(mine), "rk": 1 + await self._people_above(category, int(mine["n"]))})
        return Board(category, "all", page, pages, total, tuple(entries), viewer, viewer_github is not None)

    async def _people_above(self, category: str, count: int) -> int:
        """How many people on the all-time board have more than ``count`` (so a rank is one more than this)."""
        above = await self._db.fetchval(
            "SELECT SUM(people) FROM contribution_counts WHERE category = ? AND n > ?", (category, count), default=0
        )
        return int(above)

    async def _page(self, ranked: str, params: tuple[Any, ...], page: int) -> list[Any]:
        return await self._db.fetchall(
            f"{ranked} SELECT who, n, rk, login, discord_id, COUNT(*) OVER () AS total FROM ranked "
            "ORDER BY rk, sort_name, who LIMIT ? OFFSET ?",
            (*params, PAGE_SIZE, page * PAGE_SIZE),
        )

    def _ranked(self, category: str, guild_id: int, since: str | None) -> tuple[str, tuple[Any, ...]]:
        """Build the WITH clause that ranks every person in the category (ties share a rank)."""
        if category == "kudos":
            time_filter, group = (" AND at >= ?", "+receiver_id") if since else ("", "receiver_id")
            sql = (
                "WITH counts AS (SELECT receiver_id AS who, COUNT(*) AS n FROM peer_kudos WHERE guild_id = ?"
                f"{time_filter} GROUP BY {group}), "
                "ranked AS (SELECT c.who, c.n, RANK() OVER (ORDER BY c.n DESC) AS rk, l.login, "
                "c.who AS discord_id, '' AS sort_name FROM counts c "
                "LEFT JOIN links l ON l.guild_id = ? AND l.discord_id = c.who)"
            )
            params: tuple[Any, ...] = (guild_id, since, guild_id) if since else (guild_id, guild_id)
            return sql, params
        table, person, when, condition = _GITHUB_SOURCES[category]
        # A period reads its time index; all time groups along the person index. The unary + keeps SQLite
        # (which has no statistics for a young database) from grouping along the person index for a period.
        time_filter, group = (f" AND {when} >= ?", f"+{person}") if since else ("", person)
        sql = (
            f"WITH counts AS (SELECT {person} AS who, COUNT(*) AS n FROM {table} WHERE {condition}"
            f"{time_filter} GROUP BY {group}), "
            "ranked AS (SELECT c.who, c.n, RANK() OVER (ORDER BY c.n DESC) AS rk, u.login, l.discord_id, "
            "lower(u.login) AS sort_name FROM counts c JOIN github_users u ON u.id = c.who "
            f"AND {COUNTED_ACCOUNT.format(u='u')} "
            "LEFT JOIN links l ON l.guild_id = ? AND l.github_id = c.who)"
        )
        return sql, ((since, guild_id) if since else (guild_id,))


def _entry(row: Any) -> Entry:
    discord_id = None if row["discord_id"] is None else int(row["discord_id"])
    login = None if row["login"] is None else str(row["login"])
    return Entry(int(row["rk"]), int(row["n"]), discord_id, login)
