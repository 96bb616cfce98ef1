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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.db import Database
from bot.github import graphql as gq
from bot.github.client import GitHubWorker
from bot.ledger import Actor, Fact, IssueFact, Ledger, PullFact, ReviewFact, StarFact
from bot.timeutil import iso

log = logging.getLogger(__name__)

PHASES = ("pulls", "issues", "stars")
PAGE_SIZE = 100
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


def ledger_actor(who: gq.Actor | None) -> Actor | None:
    """Turn a GraphQL actor into a ledger actor."""
    return None if who is None else Actor(who.id, who.login, who.is_bot, is_org=who.is_org)


def pull_facts(repo: str, pull: gq.BackfillPull, extra_reviews: Sequence[gq.BackfillReview] = ()) -> list[Fact]:
    """Translate one merged pull request and its reviews."""
    facts: list[Fact] = [
        PullFact(
            repo=repo,
            number=pull.number,
            title=pull.title,
            url=pull.url,
            author=ledger_actor(pull.author),
            state="merged",
            labels=pull.labels,
            created_at=pull.created_at,
            updated_at=pull.merged_at,
            merged_at=pull.merged_at,
            merged_by=ledger_actor(pull.merged_by),
            closed_at=pull.merged_at,
        )
    ]
    seen: set[int] = set()
    for review in (*pull.reviews, *extra_reviews):
        if review.submitted_at is None or review.id in seen or review.state.upper() == "PENDING":
            continue
        seen.add(review.id)
        facts.append(
            ReviewFact(
                review.id, repo, pull.number, ledger_actor(review.author), review.state.upper(), review.submitted_at
            )
        )
    return facts


def issue_facts(repo: str, issue: gq.BackfillIssue) -> IssueFact:
    """Translate one closed issue."""
    return IssueFact(
        repo=repo,
        number=issue.number,
        title=issue.title,
        url=issue.url,
        author=ledger_actor(issue.author),
        state="closed",
        labels=issue.labels,
        created_at=issue.created_at,
        closed_at=issue.closed_at,
        closed_by=ledger_actor(issue.closed_by),
        state_reason=issue.state_reason,
    )


def star_facts(repo: str, star: gq.BackfillStar) -> StarFact:
    """Translate one stargazer."""
    user = ledger_actor(star.user)
    assert user is not None
    return StarFact(repo, user, star.starred_at)


class Backfill:
    """Run resumable history imports, one repository at a time."""

    def __init__(self, worker: GitHubWorker, ledger: Ledger, db: Database, clock: Clock) -> None:
        self._worker = worker
        self._ledger = ledger
        self._db = db
        self._clock = clock

    async def is_done(self, repo: str) -> bool:
        """Tell whether ``repo``'s history was imported completely."""
        return await self._db.get_state(f"backfill:done:{repo}") is not None

    async def run(
        self, repo: str, progress: Callable[[BackfillProgress], None] | None = None, *, force: bool = False
    ) -> BackfillReport:
        """Import ``repo``'s history (resuming an interrupted run); GitHub errors propagate after saving progress."""
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
                data = await self._worker.graphql(_QUERIES[phase], gq.page_variables(repo, cursor))
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
                pull_page = pull_facts(repo, pull, extra)
                facts += pull_page
                report.reviews += len(pull_page) - 1
            report.prs += len(pulls)
            return facts, cursor, len(pulls)
        if phase == "issues":
            issues, cursor = gq.parse_issue_page(data)
            report.issues += len(issues)
            return [issue_facts(repo, issue) for issue in issues], cursor, len(issues)
        stars, cursor = gq.parse_star_page(data)
        report.stars += len(stars)
        return [star_facts(repo, star) for star in stars], cursor, len(stars)

    async def _more_reviews(self, repo: str, pull: gq.BackfillPull) -> list[gq.BackfillReview]:
        """Fetch every review of a pull request with more than fit in the page."""
        reviews: list[gq.BackfillReview] = []
        cursor: str | None = None
        while True:
            data = await self._worker.graphql(gq.BACKFILL_REVIEWS, gq.page_variables(repo, cursor, number=pull.number))
            page, cursor = gq.parse_review_page(data)
            reviews += page
            if cursor is None:
                return reviews

    def _progress(
        self, report: BackfillReport, phase: str, counts: dict[str, int], total: int, elapsed: float
    ) -> BackfillProgress:
        pages_left = math.ceil(max(total - counts[phase], 0) / PAGE_SIZE)
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
