"""Contribution counts per GitHub account and per member, read from the ledger.

Every count a member's standing needs is read in one statement, for every counting window at once: /rank,
/profile and the ladder's evaluations ask for them on each call, and each statement is a trip to the database
thread and back through the event loop, which costs more than the indexed count itself (benchmarks/RESULTS.md,
queries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.db import Database
from bot.timeutil import iso


@dataclass(frozen=True)
class Contributions:
    """What one person has done, optionally since a moment."""

    merged_prs: int = 0
    reviews: int = 0
    merges: int = 0
    issues_closed: int = 0
    kudos: int = 0
    recognitions: int = 0
    starred: bool = False


# A GitHub account's work by bot/counting.py's views, since span.since ('' for all time), for account.id (NULL: no
# account, every count 0).
_GITHUB_COUNTS = (
    "(SELECT COUNT(*) FROM counted_merged_prs WHERE author_id = account.id AND merged_at >= span.since{repos}) "
    "AS merged_prs, "
    "(SELECT COUNT(*) FROM counted_reviews WHERE reviewer_id = account.id AND submitted_at >= span.since{repos}) "
    "AS reviews, "
    "(SELECT COUNT(*) FROM counted_merges WHERE merged_by_id = account.id AND merged_at >= span.since{repos}) "
    "AS merges, "
    "(SELECT COUNT(*) FROM counted_issue_closes WHERE closed_by_id = account.id AND closed_at >= span.since{repos}) "
    "AS issues_closed, "
    "EXISTS (SELECT 1 FROM stars WHERE user_id = account.id{repos}) AS starred"
)

# A member's kudos (at most ? from one giver) and recognitions since span.since. The kudos are read through the
# receiver's index by name: without statistics SQLite prefers 0011's peer_kudos_pair (guild, giver, receiver, at),
# which spares it sorting for GROUP BY giver_id but walks every kudos of the server — 3 ms at 50,000 kudos, on
# every /rank and /profile, where the receiver's index reads only the member's own. INDEXED BY also makes a schema
# change that drops the index fail loudly instead of silently slowing every standing down.
_MEMBER_COUNTS = (
    "(SELECT COALESCE(SUM(MIN(n, ?)), 0) FROM (SELECT COUNT(*) AS n FROM peer_kudos INDEXED BY peer_kudos_receiver "
    "WHERE guild_id = ? AND receiver_id = ? AND at >= span.since GROUP BY giver_id)) AS kudos, "
    "(SELECT COUNT(*) FROM recognitions WHERE guild_id = ? AND member_id = ? AND at >= span.since) AS recognitions"
)

_NO_CAP = 2**62


def _spans(sinces: Sequence[datetime | None]) -> tuple[str, list[object]]:
    """The counting windows as a VALUES list of (position, since) and its parameters."""
    params: list[object] = []
    for index, since in enumerate(sinces):
        params += [index, iso(since) if since else ""]
    return ", ".join("(?, ?)" for _ in sinces), params


def _contributions(row: aiosqlite.Row, *, member: bool) -> Contributions:
    return Contributions(
        merged_prs=int(row["merged_prs"]),
        reviews=int(row["reviews"]),
        merges=int(row["merges"]),
        issues_closed=int(row["issues_closed"]),
        kudos=int(row["kudos"]) if member else 0,
        recognitions=int(row["recognitions"]) if member else 0,
        starred=bool(row["starred"]),
    )


async def github_contributions(
    db: Database, github_id: int, since: datetime | None = None, repos: list[str] | None = None
) -> Contributions:
    """Count a GitHub account's merged PRs, reviews, merges of others' PRs and issues closed, by bot/counting.py."""
    repo_filter, repo_args = "", []
    if repos:
        repo_filter = f" AND repo IN ({','.join('?' * len(repos))})"
        repo_args = list(repos)
    values, params = _spans([since])
    sql = (
        f"WITH span(k, since) AS (VALUES {values}), account(id) AS (SELECT ?) SELECT "
        + _GITHUB_COUNTS.format(repos=repo_filter)
        + " FROM span, account"
    )
    # Each of the five subqueries takes the repositories after its own placeholders.
    params += [github_id, *([*repo_args] * 5)]
    rows = await db.fetchall(sql, params)
    return _contributions(rows[0], member=False)


async def member_windows(
    db: Database,
    guild_id: int,
    discord_id: int,
    sinces: Sequence[datetime | None],
    kudos_per_giver: int | None = None,
) -> list[Contributions]:
    """Count everything a member has done since each of ``sinces`` (None: all time), in one statement.

    The member's linked GitHub account's work plus kudos and recognitions; ``kudos_per_giver`` caps how many kudos
    from one giver count (one friend's repeated /kudos count once or twice).
    """
    if not sinces:
        return []
    values, params = _spans(sinces)
    sql = (
        f"WITH span(k, since) AS (VALUES {values}), "
        "account(id) AS (SELECT github_id FROM links WHERE guild_id = ? AND discord_id = ?) "
        f"SELECT span.k, {_GITHUB_COUNTS.format(repos='')}, {_MEMBER_COUNTS} "
        "FROM span LEFT JOIN account ORDER BY span.k"
    )
    params += [guild_id, discord_id, kudos_per_giver or _NO_CAP, guild_id, discord_id, guild_id, discord_id]
    return [_contributions(row, member=True) for row in await db.fetchall(sql, params)]


async def member_contributions(
    db: Database, guild_id: int, discord_id: int, since: datetime | None = None, kudos_per_giver: int | None = None
) -> Contributions:
    """Count everything a member has done since ``since`` (None: all time); see :func:`member_windows`."""
    (found,) = await member_windows(db, guild_id, discord_id, [since], kudos_per_giver)
    return found
