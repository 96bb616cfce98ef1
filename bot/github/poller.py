"""Poll GitHub for what changed, with conditional requests, and hand the facts to the ledger.

Each followed repository has three lists: pull requests (newest update first), closed issues and stargazers.
First the repository itself is read with ``If-None-Match`` (it shows a rename or transfer, which is then
followed, and the star count). Page 1 of each list goes out with ``If-None-Match``; an unchanged list answers
304, which costs no rate limit, so an idle poll makes only 304s. Stars are read newest first through GraphQL
(``stargazers(orderBy: STARRED_AT desc)``), and only when the count changed: REST lists them oldest first and
refuses pages past about 400 (422), which a repository with 40,000 stars reaches.
A changed list is read down to the stored cursor, each changed item is
completed (merger, reviews, review requests, closer) and applied with source ``"poll"``; the cursor moves
after every item, and the ETag is stored only once the whole list is done, so an interrupted poll resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.db import Database
from bot.github import graphql as gq
from bot.github.client import GitHubWorker
from bot.github.facts import graphql_star_fact, issue_fact, pull_fact, request_facts, review_facts
from bot.github.repos import Repositories
from bot.github.types import GitHubError, GitHubUnavailable, JsonResponse, NotFound, RateLimited
from bot.ledger import Fact, Ledger, ReviewRequestFact, StarFact
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

PER_PAGE = 100
BACKOFF_KEY = "poll:backoff_until"
# GitHub's times have whole seconds: a list whose newest item changed this very second can change again
# without its page changing (a review does not touch the list item), so its ETag is not kept until later.
SETTLED = timedelta(seconds=2)


@dataclass
class Cursor:
    """How far a list has been read: the newest time applied, the keys applied at exactly that time, and
    whether that second had passed when it was read (GitHub's times have whole seconds, so an item can
    change again within the second it was read without its time moving)."""

    at: datetime
    seen: set[str] = field(default_factory=set)
    settled: bool = False

    def is_new(self, when: datetime | None, key: object) -> bool:
        """Tell whether an item (a star) stamped ``when`` has not been applied yet."""
        return when is not None and (when > self.at or (when == self.at and str(key) not in self.seen))

    def reaches(self, when: datetime | None) -> bool:
        """Tell whether an item updated at ``when`` must be read: newer, or in a second not yet settled."""
        return when is not None and (when > self.at or (when == self.at and not self.settled))

    def advance(self, when: datetime, key: object) -> None:
        """Record that the item ``key`` updated at ``when`` was applied."""
        if when > self.at:
            self.at, self.seen, self.settled = when, {str(key)}, False
        elif when == self.at:
            self.seen.add(str(key))

    def settle(self, now: datetime) -> None:
        """Note the time of the read: once the cursor's second is over, items in it cannot change unseen."""
        self.settled = now - self.at >= SETTLED

    def dump(self) -> str:
        """Serialise for the state table."""
        return json.dumps({"at": iso(self.at), "seen": sorted(self.seen), "settled": self.settled})

    @classmethod
    def load(cls, text: str | None, default: datetime) -> Cursor:
        """Read a stored cursor, or start at ``default``."""
        if not text:
            return cls(default)
        data = json.loads(text)
        return cls(parse_iso(data["at"]) or default, set(data.get("seen", ())), bool(data.get("settled")))


@dataclass
class PollReport:
    """What one poll did."""

    repos: int = 0
    requests: int = 0
    not_modified: int = 0
    facts: int = 0
    events: int = 0
    skipped: bool = False
    rate_limited: bool = False
    backoff_until: datetime | None = None
    errors: list[str] = field(default_factory=list)
    unreachable: int = 0  # repositories whose poll failed because GitHub did not answer (5xx, timeout, network)


def github_time(when: datetime) -> str:
    """Format a time as GitHub's query parameters expect it."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Poller:
    """Poll every followed repository; rate limits turn into a recorded backoff, never a crash."""

    def __init__(
        self,
        worker: GitHubWorker,
        ledger: Ledger,
        db: Database,
        clock: Clock,
        repositories: Sequence[str] | Repositories,
        *,
        first_poll_lookback: timedelta = timedelta(days=7),
        max_pages: int = 10,
        jitter: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self._worker = worker
        self._ledger = ledger
        self._db = db
        self._clock = clock
        self.repos = repositories if isinstance(repositories, Repositories) else Repositories(repositories)
        self._lookback = first_poll_lookback
        self._max_pages = max_pages
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self.backoff_until: datetime | None = None
        self._backoff_loaded = False
        self.last_report: PollReport | None = None

    @property
    def repositories(self) -> list[str]:
        """The followed repositories' current names."""
        return self.repos.names()

    async def catch_up(self) -> PollReport:
        """Poll once now: at start-up and after a gap in webhook deliveries, so nothing made meanwhile is lost."""
        log.info("catching up with GitHub for %s", ", ".join(self.repositories))
        return await self.poll()

    async def poll(self) -> PollReport:
        """Poll every repository once; skip while a rate-limit backoff holds."""
        async with self._lock:
            report = PollReport()
            until = await self._backoff()
            if until is not None and self._clock.now() < until:
                report.skipped, report.backoff_until = True, until
                log.info("poll skipped: rate limited until %s", until.isoformat())
                self.last_report = report
                return report
            requests, not_modified = self._worker.requests_made, self._worker.not_modified
            for repo in self.repositories:
                try:
                    await self._poll_repo(repo, report)
                except RateLimited as exc:
                    await self._record_backoff(exc, report)
                    break
                except GitHubError as exc:
                    log.warning("polling %s failed: %s", repo, exc)
                    report.errors.append(f"{repo}: {exc}")
                    report.unreachable += isinstance(exc, GitHubUnavailable)
            report.requests = self._worker.requests_made - requests
            report.not_modified = self._worker.not_modified - not_modified
            self.last_report = report
            return report

    async def _backoff(self) -> datetime | None:
        if not self._backoff_loaded:
            self.backoff_until = parse_iso(await self._db.get_state(BACKOFF_KEY))
            self._backoff_loaded = True
        # REST polling waits for the REST (core) limit only: a spent GraphQL budget (a backfill) holds back just stars.
        candidates = [t for t in (self.backoff_until, self._worker.backoffs.get("core")) if t is not None]
        return max(candidates) if candidates else None

    async def _record_backoff(self, exc: RateLimited, report: PollReport) -> None:
        until = exc.reset_at + timedelta(seconds=self._rng.uniform(0, self._jitter))
        self.backoff_until = until
        await self._db.set_state(BACKOFF_KEY, iso(until))
        report.rate_limited, report.backoff_until = True, until
        log.warning("GitHub rate limit while polling; next poll after %s", until.isoformat())

    async def _poll_repo(self, repo: str, report: PollReport) -> None:
        lower = await self._ledger.go_live() - self._lookback
        repo, stars, etag = await self._follow(repo)
        await self._poll_pulls(repo, lower, report)
        await self._poll_issues(repo, lower, report)
        if stars is not None:
            try:
                await self._poll_stars(repo, lower, report)
            except RateLimited as exc:
                if exc.resource != "graphql":
                    raise
                log.info("stars of %s wait for GitHub's GraphQL limit (until %s)", repo, iso(exc.reset_at))
                etag = None  # read the repository in full next time, to try the stars again
            else:
                await self._db.set_state(f"poll:stars_count:{repo}", stars)
        if etag:
            await self._db.set_state(f"poll:etag:{repo}:repo", etag)
        report.repos += 1

    async def _follow(self, repo: str) -> tuple[str, str | None, str | None]:
        """Read the repository (conditionally) and follow a rename or transfer; return its current name, its star
        count when that changed since stars were last read (else None), and the ETag to keep once polled."""
        etag_key = f"poll:etag:{repo}:repo"
        response = await self._worker.get_json(f"/repos/{repo}", etag=await self._db.get_state(etag_key))
        if response.not_modified or not isinstance(response.data, dict):
            return repo, None, None
        data = response.data
        record = self.repos.find(repo, int(data["id"]) if isinstance(data.get("id"), int) else None)
        if record is not None:
            record.id = record.id or int(data.get("id") or 0) or None
            self.repos.renamed(record, str(data.get("full_name") or repo))
            async with self._db.transaction() as conn:
                await self.repos.apply_moves(conn, self._clock)
            repo = record.full_name
        count = str(int(data.get("stargazers_count") or 0))
        changed = count != await self._db.get_state(f"poll:stars_count:{repo}")
        return repo, count if changed else None, response.etag

    async def _apply(self, facts: Sequence[Fact], report: PollReport) -> None:
        if facts:
            result = await self._ledger.apply(facts, "poll")
            report.facts += result.facts
            report.events += result.events

    async def _read_list(
        self, url: str, params: dict[str, Any], etag: str | None, cursor: Cursor
    ) -> tuple[JsonResponse | None, list[Any]]:
        """Read a newest-first list down to the cursor; None when page 1 is unchanged."""
        first = await self._worker.get_json(url, params=params, etag=etag)
        if first.not_modified:
            return None, []
        items, page = list(first.data or []), first
        for _ in range(self._max_pages - 1):
            if page.next_url is None or not items or not cursor.reaches(parse_iso(items[-1].get("updated_at"))):
                break
            page = await self._worker.get_json(page.next_url)
            items += page.data or []
        else:
            log.warning("%s changed beyond %d pages; run a backfill to import the rest", url, self._max_pages)
        return first, items

    # pull requests --------------------------------------------------------------------------------------------
    async def _poll_pulls(self, repo: str, lower: datetime, report: PollReport) -> None:
        etag_key, cursor_key = f"poll:etag:{repo}:pulls", f"poll:cursor:{repo}:pulls"
        cursor = Cursor.load(await self._db.get_state(cursor_key), lower)
        params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
        first, items = await self._read_list(f"/repos/{repo}/pulls", params, await self._db.get_state(etag_key), cursor)
        if first is None:
            return
        for item in _changed(items, cursor):
            await self._apply(await self._pull_facts(repo, item), report)
            cursor.advance(parse_iso(item["updated_at"]), item["number"])  # type: ignore[arg-type]
            await self._db.set_state(cursor_key, cursor.dump())
        await self._settle(cursor, cursor_key)
        if first.etag and self._settled(items):
            await self._db.set_state(etag_key, first.etag)

    async def _settle(self, cursor: Cursor, key: str) -> None:
        if not cursor.settled:
            cursor.settle(self._clock.now())
            await self._db.set_state(key, cursor.dump())

    def _settled(self, items: Sequence[Mapping[str, Any]]) -> bool:
        times = [t for t in (parse_iso(item.get("updated_at")) for item in items) if t is not None]
        return not times or self._clock.now() - max(times) >= SETTLED

    async def _pull_facts(self, repo: str, item: Mapping[str, Any]) -> list[Fact]:
        number = int(item["number"])
        pr = item
        if item.get("merged_at") and not await self._known(
            "SELECT 1 FROM pull_requests WHERE repo = ? AND number = ? AND state = 'merged' "
            "AND merged_by_id IS NOT NULL",
            repo,
            number,
        ):
            pr = (await self._worker.get_json(f"/repos/{repo}/pulls/{number}")).data
        reviews = review_facts(repo, number, await self._worker.get_all(f"/repos/{repo}/pulls/{number}/reviews"))
        requests: list[ReviewRequestFact] = []
        if pr.get("state") == "open" and (
            pr.get("requested_reviewers")
            or pr.get("requested_teams")
            or await self._known(
                "SELECT 1 FROM review_requests WHERE repo = ? AND number = ? AND removed_at IS NULL", repo, number
            )
        ):
            try:
                timeline = await self._worker.get_all(f"/repos/{repo}/issues/{number}/timeline")
            except NotFound:
                timeline = None
            requests = request_facts(repo, pr, timeline, reviews)
        # Requests before reviews: a review answers the request it follows.
        return [pull_fact(repo, pr), *requests, *reviews]

    async def _known(self, sql: str, repo: str, number: int) -> bool:
        return await self._db.fetchone(sql, (repo, number)) is not None

    # closed issues --------------------------------------------------------------------------------------------
    async def _poll_issues(self, repo: str, lower: datetime, report: PollReport) -> None:
        etag_key, cursor_key, since_key = (
            f"poll:etag:{repo}:issues",
            f"poll:cursor:{repo}:issues",
            f"poll:since:{repo}:issues",
        )
        cursor = Cursor.load(await self._db.get_state(cursor_key), lower)
        since = await self._db.get_state(since_key) or github_time(cursor.at)
        params = {"state": "closed", "since": since, "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
        first, items = await self._read_list(
            f"/repos/{repo}/issues", params, await self._db.get_state(etag_key), cursor
        )
        if first is None:
            return
        for item in _changed(items, cursor):
            if "pull_request" not in item:
                await self._apply([await self._issue_fact(repo, item)], report)
            cursor.advance(parse_iso(item["updated_at"]), item["number"])  # type: ignore[arg-type]
            await self._db.set_state(cursor_key, cursor.dump())
        await self._settle(cursor, cursor_key)
        if first.next_url is not None:
            # The window outgrew a page: move ``since`` up (this costs one full answer next time).
            await self._db.set_state(since_key, github_time(cursor.at))
            return
        await self._db.set_state(since_key, since)
        if first.etag and self._settled(items):
            await self._db.set_state(etag_key, first.etag)

    async def _issue_fact(self, repo: str, item: Mapping[str, Any]) -> Fact:
        number = int(item["number"])
        if await self._known(
            "SELECT 1 FROM issues WHERE repo = ? AND number = ? AND state = 'closed' AND closed_by_id IS NOT NULL",
            repo,
            number,
        ):
            return issue_fact(repo, item)
        full = (await self._worker.get_json(f"/repos/{repo}/issues/{number}")).data
        if full.get("closed_by"):
            return issue_fact(repo, full)
        events = await self._worker.get_all(f"/repos/{repo}/issues/{number}/events")
        closers = [event.get("actor") for event in events if event.get("event") == "closed"]
        return issue_fact(repo, full, closers[-1] if closers else None)

    # stars ----------------------------------------------------------------------------------------------------
    async def _poll_stars(self, repo: str, lower: datetime, report: PollReport) -> None:
        """Read stargazers newest first until a star already applied (no page cap can be reached)."""
        state_key = f"poll:stars:{repo}"
        cursor = Cursor.load(await self._db.get_state(state_key), lower)
        found: list[StarFact] = []
        after: str | None = None
        for _ in range(self._max_pages):
            data = await self._worker.graphql(gq.RECENT_STARS, gq.page_variables(repo, after, first=PER_PAGE))
            stars, after = gq.parse_star_page(data)
            found += [graphql_star_fact(repo, star) for star in stars if cursor.is_new(star.starred_at, star.user.id)]
            if after is None or not stars or not cursor.reaches(stars[-1].starred_at):
                break
        else:
            log.warning(
                "more than %d pages of new stars on %s; run a backfill to import the rest", self._max_pages, repo
            )
        facts = sorted(found, key=lambda fact: (fact.starred_at or lower, fact.user.id))
        await self._apply(facts, report)
        for fact in facts:
            cursor.advance(fact.starred_at, fact.user.id)  # type: ignore[arg-type]
        await self._db.set_state(state_key, cursor.dump())


def _changed(items: Iterable[Mapping[str, Any]], cursor: Cursor) -> list[Mapping[str, Any]]:
    """Items updated at or after the cursor, oldest first, each once."""
    unique = {int(item["number"]): item for item in items}
    fresh = [item for item in unique.values() if cursor.reaches(parse_iso(item.get("updated_at")))]
    return sorted(fresh, key=lambda item: (parse_iso(item["updated_at"]), int(item["number"])))
