"""Contribution counts per GitHub account and per member, read from the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


async def github_contributions(
    db: Database, github_id: int, since: datetime | None = None, repos: list[str] | None = None
) -> Contributions:
    """Count a GitHub account's merged PRs, reviews, merges of others' PRs and issues closed, by bot/counting.py."""
    start = iso(since) if since else ""
    repo_filter, repo_args = "", []
    if repos:
        repo_filter = f" AND repo IN ({','.join('?' * len(repos))})"
        repo_args = list(repos)
    merged = await db.fetchval(
        "SELECT COUNT(*) FROM counted_merged_prs WHERE author_id = ? AND merged_at >= ?" + repo_filter,
        (github_id, start, *repo_args),
        default=0,
    )
    reviews = await db.fetchval(
        "SELECT COUNT(*) FROM counted_reviews WHERE reviewer_id = ? AND submitted_at >= ?" + repo_filter,
        (github_id, start, *repo_args),
        default=0,
    )
    merges = await db.fetchval(
        "SELECT COUNT(*) FROM counted_merges WHERE merged_by_id = ? AND merged_at >= ?" + repo_filter,
        (github_id, start, *repo_args),
        default=0,
    )
    closed = await db.fetchval(
        "SELECT COUNT(*) FROM counted_issue_closes WHERE closed_by_id = ? AND closed_at >= ?" + repo_filter,
        (github_id, start, *repo_args),
        default=0,
    )
    starred = await db.fetchval("SELECT 1 FROM stars WHERE user_id = ?" + repo_filter, (github_id, *repo_args))
    return Contributions(
        merged_prs=int(merged),
        reviews=int(reviews),
        merges=int(merges),
        issues_closed=int(closed),
        starred=bool(starred),
    )


async def member_contributions(
    db: Database, guild_id: int, discord_id: int, since: datetime | None = None, kudos_per_giver: int | None = None
) -> Contributions:
    """Count everything a member has done: their linked GitHub account's work plus kudos and recognitions.

    ``kudos_per_giver`` caps how many kudos from one giver count (one friend's repeated /kudos count once or twice).
    """
    start = iso(since) if since else ""
    link = await db.fetchval(
        "SELECT github_id FROM links WHERE guild_id = ? AND discord_id = ?", (guild_id, discord_id)
    )
    base = Contributions() if link is None else await github_contributions(db, int(link), since)
    kudos = await db.fetchval(
        "SELECT COALESCE(SUM(MIN(n, ?)), 0) FROM (SELECT COUNT(*) AS n FROM peer_kudos "
        "WHERE guild_id = ? AND receiver_id = ? AND at >= ? GROUP BY giver_id)",
        (kudos_per_giver or 2**62, guild_id, discord_id, start),
        default=0,
    )
    recognitions = await db.fetchval(
        "SELECT COUNT(*) FROM recognitions WHERE guild_id = ? AND member_id = ? AND at >= ?",
        (guild_id, discord_id, start),
        default=0,
    )
    return Contributions(
        merged_prs=base.merged_prs,
        reviews=base.reviews,
        merges=base.merges,
        issues_closed=base.issues_closed,
        kudos=int(kudos),
        recognitions=int(recognitions),
        starred=base.starred,
    )
