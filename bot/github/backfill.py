"""Import a repository's history through GraphQL: merged pull requests with reviews, closed issues, stars.

About 100 merged pull requests (with merger and reviews) come per request, so a 2,500-PR repository takes
about 30 requests. Every page is applied with source ``"backfill"`` (history, never news), then its cursor
is stored: an interrupted backfill continues where it stopped, and a finished one is recorded.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.db import Database
from bot.github import graphql as gq
from bot.github.client import GitHubWorker
from bot.github.facts import graphql_issue_fact, graphql_pull_facts, graphql_star_fact
from bot.github.repos import Repositories
from bot.github.types import GitHubUnavailable, GraphQLFailed, RateLimited
from bot.ledger import Fact, Ledger
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

PHASES = ("pulls", "issues", "stars")
PAGE_SIZE = 100
MIN_PAGE_SIZE = 1
RECOVER_AFTER = 3  # successful pages before a halved page size doubles again
TIMEOUT_STATUSES = {502, 504}
SAFE_ERROR_FIELDS = {"labels", "rateLimit"}  # a failed field here leaves the rest of a page trustworthy
_CONNECTIONS = {"pulls": "pullRequests", "issues": "issues", "stars": "stargazers"}
_QUERIES = {"pulls": gq.BACKFILL_PULLS, "issues": gq.BACKFILL_ISSUES, "stars": gq.BACKFILL_STARS}


@dataclass(frozen=True)
class BackfillProgress:
    """Where a running backfill is, for a progress bar."""

    repo: str
    phase: str
    prs: int
    reviews: int
    issues: int
    stars: int
    requests: int
    rate_limit_remaining: int | None
    total_prs: int | None
    eta_seconds: float | None


@dataclass
class BackfillReport:
    """What one run imported (counts are for this run; a resumed run counts only what it read)."""

    repo: str
    prs: int = 0
    reviews: int = 0
    issues: int = 0
    stars: int = 0
    requests: int = 0
    events: int = 0
    total_prs: int | None = None
    already_done: bool = False
    seconds: float = 0.0
    phases: list[str] = field(default_factory=list)


def _safe(error: dict[str, Any]) -> bool:
    """Tell whether a GraphQL error concerns only a field that identifies nothing (its node stays usable)."""
    path = error.get("path") or []
    return any(str(part) in SAFE_ERROR_FIELDS for part in path)


class Backfill:
    """Run resumable history imports, one repository at a time."""

    def __init__(
        self, worker: GitHubWorker, ledger: Ledger, db: Database, clock: Clock, repos: Repositories | None = None
    ) -> None:
        self._repos = repos
        self._worker = worker
        self._ledger = ledger
        self._db = db
        self._clock = clock
        self._sizes: dict[str, int] = {}
        self._good_pages: dict[str, int] = {}

    async def is_done(self, repo: str) -> bool:
        """Tell whether ``repo``'s history was imported completely."""
        return await self._db.get_state(f"backfill:done:{repo}") is not None

    async def waiting(self) -> dict[str, str]:
        """Return the repositories whose backfill stopped at a spent rate limit, with when it resets (ISO)."""
        rows = await self._db.fetchall("SELECT key, value FROM state WHERE key LIKE 'backfill:waiting:%'")
        return {str(row[0]).removeprefix("backfill:waiting:"): str(row[1]) for row in rows}

    async def resume_waiting(self) -> list[BackfillReport]:
        """Continue every backfill whose rate limit has reset (run by the ``github.backfill`` job)."""
        reports = []
        for repo, until in (await self.waiting()).items():
            reset = parse_iso(until)
            if reset is not None and reset > self._clock.now():
                continue
            log.info("GitHub's rate limit has reset; resuming the backfill of %s", repo)
            try:
                reports.append(await self.run(repo))
            except RateLimited as exc:
                log.info("the backfill of %s waits for GitHub's rate limit until %s", repo, iso(exc.reset_at))
        return reports

    async def run(
        self, repo: str, progress: Callable[[BackfillProgress], None] | None = None, *, force: bool = False
    ) -> BackfillReport:
        """Import ``repo``'s history (resuming an interrupted run); GitHub errors propagate after saving progress.

        A spent rate limit raises :class:`RateLimited` and marks the backfill as waiting: the ``github.backfill``
        job resumes it where it stopped once the limit resets. Rows are keyed by the repository's current name
        as GitHub spells it, whatever spelling or former name ``repo`` uses.
        """
        if self._repos is not None:
            repo = self._repos.canonical(repo)
        try:
            report = await self._run(repo, progress, force=force)
        except RateLimited as exc:
            await self._db.set_state(f"backfill:waiting:{repo}", iso(exc.reset_at))
            raise
        except GraphQLFailed as exc:
            log.error("the backfill of %s stopped: %s", repo, exc)
            await self._db.set_state(f"backfill:error:{repo}", str(exc))
            raise
        await self._db.execute(
            "DELETE FROM state WHERE key IN (?, ?)", (f"backfill:waiting:{repo}", f"backfill:error:{repo}")
        )
        return report

    async def _run(
        self, repo: str, progress: Callable[[BackfillProgress], None] | None, *, force: bool
    ) -> BackfillReport:
        self._sizes.clear()  # each run starts with full pages; a timeout halves them for the rest of the run
        self._good_pages.clear()
        report = BackfillReport(repo)
        if force:
            await self._reset(repo)
        elif await self.is_done(repo):
            report.already_done = True
            return report
        started, requests_before = time.monotonic(), self._worker.requests_made
        stored = {
            phase: json.loads(await self._db.get_state(f"backfill:cursor:{repo}:{phase}") or "{}") for phase in PHASES
        }
        counts = {phase: int(stored[phase].get("count", 0)) for phase in PHASES}
        for phase in PHASES:
            key = f"backfill:cursor:{repo}:{phase}"
            if stored[phase].get("done"):
                continue
            report.phases.append(phase)
            cursor = stored[phase].get("cursor")
            while True:
                data = await self.fetch(_QUERIES[phase], repo, cursor, phase)
                total = gq.total_count(data, _CONNECTIONS[phase])
                if phase == "pulls":
                    report.total_prs = total
                facts, cursor, read = await self._page(repo, phase, data, report)
                result = await self._ledger.apply(facts, "backfill")
                report.events += result.events
                counts[phase] += read
                state = {"cursor": cursor, "count": counts[phase], "done": cursor is None}
                await self._db.set_state(key, json.dumps(state))
                report.requests = self._worker.requests_made - requests_before
                if progress is not None:
                    progress(self._progress(report, phase, counts, total, time.monotonic() - started))
                if cursor is None:
                    break
        await self._db.set_state(f"backfill:done:{repo}", iso(self._clock.now()))
        report.seconds = time.monotonic() - started
        log.info(
            "backfill of %s done: %d PRs, %d reviews, %d issues, %d stars in %d requests",
            repo,
            report.prs,
            report.reviews,
            report.issues,
            report.stars,
            report.requests,
        )
        return report

    async def _page(
        self, repo: str, phase: str, data: dict[str, Any], report: BackfillReport
    ) -> tuple[list[Fact], str | None, int]:
        facts: list[Fact] = []
        if phase == "pulls":
            pulls, cursor = gq.parse_pull_page(data)
            for pull in pulls:
                extra = await self._more_reviews(repo, pull) if pull.reviews_total > len(pull.reviews) else []
                pull_page = graphql_pull_facts(repo, pull, extra)
                facts += pull_page
                report.reviews += len(pull_page) - 1
            report.prs += len(pulls)
            return facts, cursor, len(pulls)
        if phase == "issues":
            issues, cursor = gq.parse_issue_page(data)
            report.issues += len(issues)
            return [graphql_issue_fact(repo, issue) for issue in issues], cursor, len(issues)
        stars, cursor = gq.parse_star_page(data)
        report.stars += len(stars)
        return [graphql_star_fact(repo, star) for star in stars], cursor, len(stars)

    async def _more_reviews(self, repo: str, pull: gq.BackfillPull) -> list[gq.BackfillReview]:
        """Fetch every review of a pull request with more than fit in the page."""
        reviews: list[gq.BackfillReview] = []
        cursor: str | None = None
        while True:
            data = await self.fetch(gq.BACKFILL_REVIEWS, repo, cursor, "reviews", number=pull.number)
            page, cursor = gq.parse_review_page(data)
            reviews += page
            if cursor is None:
                return reviews

    def page_size(self, kind: str) -> int:
        """Return the page size asked for now (halved after GitHub timed out, back to 100 as pages succeed)."""
        return self._sizes.get(kind, PAGE_SIZE)

    async def fetch(self, query: str, repo: str, cursor: str | None, kind: str, **extra: Any) -> dict[str, Any]:
        """Fetch one page, halving the page size while GitHub answers 502/504 and growing it back afterwards.

        Errors on fields that do not identify anything (labels) keep the rest of the page; other GraphQL errors,
        rate limits and outages propagate (progress up to the last page is saved).
        """
        while True:
            size = self.page_size(kind)
            try:
                data = await self._worker.graphql(query, gq.page_variables(repo, cursor, first=size, **extra))
            except GitHubUnavailable as exc:
                if exc.status not in TIMEOUT_STATUSES or size <= MIN_PAGE_SIZE:
                    raise
                self._sizes[kind], self._good_pages[kind] = max(size // 2, MIN_PAGE_SIZE), 0
                log.warning("GitHub timed out on %d %s of %s; asking for %d", size, kind, repo, self._sizes[kind])
                continue
            except GraphQLFailed as exc:
                if exc.data is None or not all(_safe(error) for error in exc.errors):
                    raise
                log.warning("%s; keeping the rest of the page", exc)
                data = exc.data
            self._grow(kind)
            return data

    def _grow(self, kind: str) -> None:
        size = self.page_size(kind)
        if size >= PAGE_SIZE:
            return
        self._good_pages[kind] = self._good_pages.get(kind, 0) + 1
        if self._good_pages[kind] >= RECOVER_AFTER:
            self._sizes[kind], self._good_pages[kind] = min(size * 2, PAGE_SIZE), 0

    def _progress(
        self, report: BackfillReport, phase: str, counts: dict[str, int], total: int, elapsed: float
    ) -> BackfillProgress:
        pages_left = math.ceil(max(total - counts[phase], 0) / self.page_size(phase))
        later = PHASES[PHASES.index(phase) + 1 :]
        per_request = elapsed / report.requests if report.requests else None
        eta = None if per_request is None else per_request * (pages_left + len(later))
        info = self._worker.rate_limits.get("graphql")
        return BackfillProgress(
            repo=report.repo,
            phase=phase,
            prs=counts["pulls"],
            reviews=report.reviews,
            issues=counts["issues"],
            stars=counts["stars"],
            requests=report.requests,
            rate_limit_remaining=info.remaining if info else None,
            total_prs=report.total_prs,
            eta_seconds=eta,
        )

    async def _reset(self, repo: str) -> None:
        keys = [f"backfill:done:{repo}", *(f"backfill:cursor:{repo}:{phase}" for phase in PHASES)]
        async with self._db.transaction() as conn:
            await conn.executemany("DELETE FROM state WHERE key = ?", [(key,) for key in keys])
