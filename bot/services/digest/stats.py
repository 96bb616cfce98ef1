"""Read a digest's numbers from the ledger tables.

Each action counts for the person who did it (a merged PR for its author, a merge for the merger, a review for
the reviewer, a close for the closer, a star for the stargazer), and actions by bots and ignored accounts are
left out everywhere, so the digest only ever credits people.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.counting import COUNTED_OR_UNKNOWN
from bot.db import Database
from bot.services.digest.model import ChartSeries, DigestData, Health, Promotion, Ranked, Ref, Waiting, Who
from bot.services.digest.periods import Period, Schedule
from bot.timeutil import iso, parse_iso

TOP = 3
MAX_NEWCOMERS = 25
MAX_PROMOTIONS = 10
MAX_GOOD_FIRST_ISSUES = 5
CHART_PERIODS = 12
Queue = tuple[int, Waiting | None]
HUMAN = COUNTED_OR_UNKNOWN


class DigestStats:
    """Compute the numbers of a digest for one guild and its followed repositories."""

    def __init__(
        self, db: Database, schedule: Schedule, guild_id: int, repos: Sequence[str], labels: Sequence[str]
    ) -> None:
        self._db = db
        self._schedule = schedule
        self._guild = guild_id
        self._repos = list(repos)
        self._labels = [label.lower() for label in labels]

    def _repo(self, alias: str) -> str:
        if not self._repos:
            return ""
        return f" AND {alias}.repo IN ({','.join('?' * len(self._repos))})"

    async def collect(self, period: Period, now: datetime, queue: Queue | None = None) -> DigestData:
        """Gather everything the digest of ``period`` reports; ``queue`` is the review queue, when known."""
        chart, firsts = await self._chart(period)
        newcomers = _newcomers(firsts, period)
        reviews, reviewed, top_reviewers = await self._reviews(period)
        closed, closers = await self._issues(period)
        return DigestData(
            period=period,
            now=now,
            new_contributors=newcomers,
            merged=chart.merged[-1],
            merged_before=chart.merged[-2],
            top_mergers=await self._mergers(period),
            reviews=reviews,
            reviewed_prs=reviewed,
            top_reviewers=top_reviewers,
            issues_closed=closed,
            top_closers=closers,
            stars_gained=chart.stars[-1] - chart.stars[-2],
            stars_total=chart.stars[-1],
            promotions=await self._promotions(period),
            kudos=await self._count("peer_kudos", period),
            recognitions=await self._count("recognitions", period),
            health=await self.health(period, queue),
            good_first_issues=await self.good_first_issues(),
            chart=chart,
        )

    async def chart(self, period: Period, periods: int = CHART_PERIODS) -> ChartSeries:
        """Count merged PRs, new contributors and stars for the ``periods`` periods ending with ``period``."""
        return (await self._chart(period, periods))[0]

    async def _chart(self, period: Period, periods: int = CHART_PERIODS) -> tuple[ChartSeries, list[Any]]:
        """The chart, and the first merges it counted (the period's newcomers are among them: one query serves
        both, the costliest of the digest; benchmarks/RESULTS.md)."""
        spans = [self._schedule.earlier(period, i) for i in range(max(periods, 2) - 1, -1, -1)]
        start, end = iso(spans[0].start), iso(period.end)
        merged = await self._times(
            "SELECT p.merged_at FROM pull_requests p LEFT JOIN github_users u ON u.id = p.author_id "
            f"WHERE p.state = 'merged' AND p.merged_at >= ? AND p.merged_at < ? AND {HUMAN.format(u='u')}"
            + self._repo("p"),
            (start, end, *self._repos),
        )
        first_rows = await self._first_merges(start)
        firsts = [row[3] for row in first_rows]
        stars_before = await self._db.fetchval(
            f"SELECT COUNT(*) FROM stars s JOIN github_users u ON u.id = s.user_id WHERE s.starred_at < ? "
            f"AND {HUMAN.format(u='u')}" + self._repo("s"),
            (start, *self._repos),
            default=0,
        )
        stars = await self._times(
            "SELECT s.starred_at FROM stars s JOIN github_users u ON u.id = s.user_id "
            f"WHERE s.starred_at >= ? AND s.starred_at < ? AND {HUMAN.format(u='u')}" + self._repo("s"),
            (start, end, *self._repos),
        )
        series = ChartSeries(
            ends=[span.end for span in spans],
            merged=[_between(merged, span) for span in spans],
            newcomers=[_between(firsts, span) for span in spans],
            stars=[int(stars_before) + bisect_left(stars, iso(span.end)) for span in spans],
        )
        return series, first_rows

    async def _times(self, sql: str, params: Sequence[Any]) -> list[str]:
        return sorted(row[0] for row in await self._db.fetchall(sql, params) if row[0])

    async def _first_merges(self, since: str) -> list[Any]:
        return await self._db.fetchall(
            "SELECT p.author_id, u.login, l.discord_id, MIN(p.merged_at) AS first FROM pull_requests p "
            "JOIN github_users u ON u.id = p.author_id "
            "LEFT JOIN links l ON l.github_id = p.author_id AND l.guild_id = ? "
            f"WHERE p.state = 'merged' AND {HUMAN.format(u='u')}" + self._repo("p") + " "
            "GROUP BY p.author_id HAVING first >= ? ORDER BY first, u.login",
            (self._guild, *self._repos, since),
        )

    async def _mergers(self, period: Period) -> list[Ranked]:
        return await self._ranked(
            "SELECT p.merged_by_id, u.login, l.discord_id, COUNT(*) AS n FROM pull_requests p "
            "JOIN github_users u ON u.id = p.merged_by_id "
            "LEFT JOIN links l ON l.github_id = u.id AND l.guild_id = ? "
            f"WHERE p.state = 'merged' AND p.merged_at >= ? AND p.merged_at < ? AND {HUMAN.format(u='u')}"
            + self._repo("p")
            + " GROUP BY p.merged_by_id",
            period,
        )

    async def _reviews(self, period: Period) -> tuple[int, int, list[Ranked]]:
        # A review of one's own PR is not a review; dismissed reviews do not count.
        where = (
            "FROM reviews r JOIN github_users u ON u.id = r.reviewer_id "
            "LEFT JOIN pull_requests p ON p.repo = r.repo AND p.number = r.number "
            "LEFT JOIN links l ON l.github_id = u.id AND l.guild_id = ? "
            f"WHERE r.submitted_at >= ? AND r.submitted_at < ? AND r.state != 'DISMISSED' AND {HUMAN.format(u='u')} "
            "AND (p.author_id IS NULL OR p.author_id != r.reviewer_id)" + self._repo("r")
        )
        params = (self._guild, iso(period.start), iso(period.end), *self._repos)
        row = await self._db.fetchone(f"SELECT COUNT(*), COUNT(DISTINCT r.repo || '#' || r.number) {where}", params)
        top = await self._ranked(
            f"SELECT r.reviewer_id, u.login, l.discord_id, COUNT(DISTINCT r.repo || '#' || r.number) AS n {where} "
            "GROUP BY r.reviewer_id",
            period,
        )
        return (int(row[0]), int(row[1]), top) if row else (0, 0, top)

    async def _issues(self, period: Period) -> tuple[int, list[Ranked]]:
        count = await self._db.fetchval(
            "SELECT COUNT(*) FROM counted_issue_closes i LEFT JOIN github_users u ON u.id = i.closed_by_id "
            f"WHERE i.state = 'closed' AND i.closed_at >= ? AND i.closed_at < ? AND {HUMAN.format(u='u')}"
            + self._repo("i"),
            (iso(period.start), iso(period.end), *self._repos),
            default=0,
        )
        top = await self._ranked(
            "SELECT i.closed_by_id, u.login, l.discord_id, COUNT(*) AS n FROM counted_issue_closes i "
            "JOIN github_users u ON u.id = i.closed_by_id "
            "LEFT JOIN links l ON l.github_id = u.id AND l.guild_id = ? "
            f"WHERE i.state = 'closed' AND i.closed_at >= ? AND i.closed_at < ? AND {HUMAN.format(u='u')}"
            + self._repo("i")
            + " GROUP BY i.closed_by_id",
            period,
        )
        return int(count), top

    async def _ranked(self, sql: str, period: Period) -> list[Ranked]:
        rows = await self._db.fetchall(
            f"{sql} ORDER BY n DESC, u.login COLLATE NOCASE LIMIT {TOP}",
            (self._guild, iso(period.start), iso(period.end), *self._repos),
        )
        return [Ranked(_who(row[0], row[1], row[2]), int(row[3])) for row in rows]

    async def _promotions(self, period: Period) -> list[Promotion]:
        rows = await self._db.fetchall(
            "SELECT discord_id, tier FROM tier_grants WHERE guild_id = ? AND granted_at >= ? AND granted_at < ? "
            "ORDER BY granted_at, discord_id LIMIT ?",
            (self._guild, iso(period.start), iso(period.end), MAX_PROMOTIONS),
        )
        return [Promotion(int(row[0]), str(row[1])) for row in rows]

    async def _count(self, table: str, period: Period) -> int:
        value = await self._db.fetchval(
            f"SELECT COUNT(*) FROM {table} WHERE guild_id = ? AND at >= ? AND at < ?",
            (self._guild, iso(period.start), iso(period.end)),
            default=0,
        )
        return int(value)

    async def health(self, period: Period, queue: Queue | None = None) -> Health:
        """Describe the review queue now and the time to first review of PRs opened in ``period``."""
        waiting, oldest = queue if queue is not None else await self.waiting()
        everyone, newcomers, unanswered = await self._first_reviews(period)
        return Health(
            waiting=waiting,
            oldest=oldest,
            first_review=_median(everyone),
            first_review_sample=len(everyone),
            newcomer_first_review=_median(newcomers),
            newcomer_sample=len(newcomers),
            unanswered=unanswered,
        )

    async def waiting(self) -> Queue:
        """Count open, non-draft PRs with a pending review request, and find the one waiting longest."""
        waiting = await self._db.fetchall(
            "SELECT p.repo, p.number, p.title, p.url, MIN(rr.requested_at) AS since FROM pull_requests p "
            "JOIN review_requests rr ON rr.repo = p.repo AND rr.number = p.number AND rr.removed_at IS NULL "
            "LEFT JOIN github_users u ON u.id = p.author_id "
            f"WHERE p.state = 'open' AND p.draft = 0 AND {HUMAN.format(u='u')}"
            + self._repo("p")
            + " GROUP BY p.repo, p.number ORDER BY since, p.repo, p.number",
            self._repos,
        )
        oldest = None
        if waiting:
            first = waiting[0]
            since = parse_iso(first["since"])
            assert since is not None
            oldest = Waiting(Ref(first["repo"], first["number"], first["title"], first["url"]), since)
        return len(waiting), oldest

    async def _first_reviews(self, period: Period) -> tuple[list[timedelta], list[timedelta], int]:
        """Time from PR creation to the first review by someone other than the author (CHAOSS)."""
        rows = await self._db.fetchall(
            "SELECT p.created_at, "
            "(SELECT MIN(r.submitted_at) FROM reviews r JOIN github_users ru ON ru.id = r.reviewer_id "
            " WHERE r.repo = p.repo AND r.number = p.number AND r.reviewer_id != p.author_id "
            f" AND r.state != 'DISMISSED' AND {HUMAN.format(u='ru')}) AS first_review, "
            "EXISTS (SELECT 1 FROM pull_requests q WHERE q.author_id = p.author_id AND q.state = 'merged' "
            " AND q.merged_at < p.created_at) AS experienced "
            "FROM pull_requests p JOIN github_users u ON u.id = p.author_id "
            f"WHERE p.created_at >= ? AND p.created_at < ? AND {HUMAN.format(u='u')}" + self._repo("p"),
            (iso(period.start), iso(period.end), *self._repos),
        )
        everyone: list[timedelta] = []
        newcomers: list[timedelta] = []
        unanswered = 0
        for row in rows:
            opened, reviewed = parse_iso(row["created_at"]), parse_iso(row["first_review"])
            if opened is None or reviewed is None:
                unanswered += 1
                continue
            wait = max(timedelta(0), reviewed - opened)
            everyone.append(wait)
            if not row["experienced"]:
                newcomers.append(wait)
        return everyone, newcomers, unanswered

    async def good_first_issues(self) -> list[Ref]:
        """Return a few open issues carrying one of the newcomer labels, newest first."""
        if not self._labels:
            return []
        rows = await self._db.fetchall(
            "SELECT i.repo, i.number, i.title, i.url FROM issues i WHERE i.state = 'open'"
            + self._repo("i")
            + " AND EXISTS (SELECT 1 FROM json_each(i.labels) j WHERE lower(j.value) IN "
            f"({','.join('?' * len(self._labels))})) ORDER BY i.created_at DESC, i.number DESC LIMIT ?",
            (*self._repos, *self._labels, MAX_GOOD_FIRST_ISSUES),
        )
        return [Ref(row[0], int(row[1]), row[2], row[3]) for row in rows]


def _between(times: list[str], period: Period) -> int:
    """Count the sorted ISO times inside ``period``."""
    return bisect_left(times, iso(period.end)) - bisect_left(times, iso(period.start))


def _who(github_id: Any, login: Any, discord_id: Any) -> Who:
    return Who(int(github_id), str(login), None if discord_id is None else int(discord_id))


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(value.total_seconds() for value in values))


def _newcomers(firsts: Sequence[Any], period: Period) -> list[Who]:
    """The people whose first merge falls in the period (``firsts`` in order of that merge, from an earlier start)."""
    start, end = iso(period.start), iso(period.end)
    return [_who(row[0], row[1], row[2]) for row in firsts if start <= row[3] < end][:MAX_NEWCOMERS]
