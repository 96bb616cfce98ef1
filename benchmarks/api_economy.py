"""api-economy: GitHub requests for a 20,000-PR backfill and for an idle poll of 10 repositories.

Vestry's backfill (GraphQL, about 100 merged pull requests with merger and reviews per request) and its poller
(conditional requests: an unchanged list answers 304, which GitHub does not count) run against the GitHub
emulator, which counts every request per route and keeps GitHub's rate-limit buckets. The baseline is the
obvious PyGithub code (``benchmarks/pygithub_baseline.py``) in its own process against the same emulator.

The baseline backfill makes two requests per merged pull request; against the emulator the whole 20,000 takes
about a minute, so it runs in full by default. It also runs on a slice (``baseline_prs``), with Vestry on the same
slice; ``full_baseline=false`` skips the full run and extrapolates the slice linearly (the count is linear in the
size), saying so in the table.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Measure, Report, ratio_of, run_python
from bot.clock import ManualClock
from bot.db import Database
from bot.github.backfill import Backfill
from bot.github.client import GitHubWorker
from bot.github.poller import Poller
from bot.ledger import Ledger
from bot.sandbox.github_emulator import GitHubEmulator

BIG = "bench/big"
SLICE = "bench/slice"
START = datetime(2016, 1, 1, tzinfo=UTC)


@dataclass
class Options:
    """Sizes of one api-economy run."""

    prs: int = 20_000
    baseline_prs: int = 1_000
    full_baseline: bool = True
    repos: int = 10
    repo_prs: int = 200
    runs: int = 1


def history(count: int, first: int = 1) -> list[dict[str, Any]]:
    """Merged pull requests over the years: 1 or 2 reviews each (1.5 on average), ten PRs per author."""
    authors = max(1, count // 10)
    rows = []
    for index in range(count):
        number = first + index
        when = (START + timedelta(minutes=13 * index)).isoformat()
        rows.append(
            {
                "number": number,
                "author": f"author{index * 7919 % authors:05d}",
                "merged_at": when,
                "merged_by": f"maintainer{index % 20:02d}",
                "reviews": [
                    {"by": f"reviewer{(index + k) % 50:02d}", "state": "APPROVED", "submitted_at": when}
                    for k in range(1 + index % 2)
                ],
            }
        )
    return rows


def counted(gh: GitHubEmulator) -> tuple[int, int]:
    """Return all requests seen and those answered 304."""
    counts = gh.request_counts().values()
    return sum(c["requests"] for c in counts), sum(c["not_modified"] for c in counts)


def rate_used(gh: GitHubEmulator) -> int:
    """Return the requests that counted against any rate-limit bucket so far."""
    return sum(bucket.used for bucket in gh.gate.buckets.values())


async def vestry_backfill(gh: GitHubEmulator, repo: str, folder: Path, clock: ManualClock) -> dict[str, Any]:
    """Backfill ``repo`` into a fresh database; return requests, time and what landed in the ledger."""
    db = Database(folder / f"backfill-{repo.replace('/', '-')}.sqlite3")
    await db.open()
    await db.migrate()
    worker = GitHubWorker(gh.url, gh.token, clock=clock, throttle=False, retry_backoff=0)
    await worker.start()
    try:
        gh.reset_request_counts()
        used = rate_used(gh)
        started = time.perf_counter()
        report = await Backfill(worker, Ledger(db, clock), db, clock).run(repo)
        seconds = time.perf_counter() - started
        requests, _ = counted(gh)
        merged = await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'", default=0)
        with_merger = await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE merged_by_id IS NOT NULL", default=0)
        reviews = await db.fetchval("SELECT COUNT(*) FROM reviews", default=0)
        return {
            "requests": requests,
            "rate_limit_used": rate_used(gh) - used,
            "seconds": seconds,
            "prs": report.prs,
            "merged_in_ledger": merged,
            "with_merger": with_merger,
            "reviews_in_ledger": reviews,
        }
    finally:
        await worker.close()
        await db.close()


async def baseline(gh: GitHubEmulator, mode: str, repos: list[str]) -> dict[str, Any]:
    """Run the obvious PyGithub code in another process; return its requests and time."""
    gh.reset_request_counts()
    used = rate_used(gh)
    config = {"url": gh.url, "token": gh.token, "mode": mode, "repos": repos}
    result = await run_python("benchmarks.pygithub_baseline", json.dumps(config), timeout=1800)
    requests, not_modified = counted(gh)
    return {**result, "requests": requests, "not_modified": not_modified, "rate_limit_used": rate_used(gh) - used}


async def idle_poll(gh: GitHubEmulator, repos: list[str], folder: Path, clock: ManualClock) -> dict[str, Any]:
    """Poll once to catch up, then poll again with nothing changed; return the second poll's requests."""
    db = Database(folder / "poll.sqlite3")
    await db.open()
    await db.migrate()
    worker = GitHubWorker(gh.url, gh.token, clock=clock, throttle=False, retry_backoff=0)
    await worker.start()
    try:
        poller = Poller(worker, Ledger(db, clock), db, clock, repos)
        gh.reset_request_counts()
        first = await poller.poll()
        first_requests, _ = counted(gh)
        gh.reset_request_counts()
        used = rate_used(gh)
        second = await poller.poll()
        requests, not_modified = counted(gh)
        return {
            "first_poll_requests": first_requests,
            "requests": requests,
            "not_modified": not_modified,
            "rate_limit_used": rate_used(gh) - used,
            "errors": first.errors + second.errors,
        }
    finally:
        await worker.close()
        await db.close()


async def build_world(gh: GitHubEmulator, opts: Options) -> list[str]:
    """Load the big repository, the baseline's slice and the polled repositories; return the polled names."""
    for bucket in ("core", "graphql", "search"):
        gh.set_rate_limit(bucket, 10_000_000)  # the baseline's ~40,000 requests must not hit the hourly limit
    await gh.create_repo(BIG, deliver=False)
    await gh.load_history(BIG, history(opts.prs))
    await gh.create_repo(SLICE, deliver=False)
    await gh.load_history(SLICE, history(opts.baseline_prs))
    polled = [f"bench/idle-{index}" for index in range(opts.repos)]
    for name in polled:
        await gh.create_repo(name, deliver=False)
        await gh.load_history(name, history(opts.repo_prs))
        for user in range(5):
            await gh.star(name, f"stargazer{user}", deliver=False)
    return polled


async def run(opts: Options | None = None) -> Report:
    """Run the api-economy benchmark."""
    opts = opts or Options()
    report = Report("api-economy", params=opts.__dict__.copy())
    clock = ManualClock()
    gh = GitHubEmulator(clock=clock)
    await gh.start()
    try:
        polled = await build_world(gh, opts)
        with tempfile.TemporaryDirectory(prefix="vestry-bench-api-") as folder:
            big = await vestry_backfill(gh, BIG, Path(folder), clock)
            small = await vestry_backfill(gh, SLICE, Path(folder), clock)
            base_small = await baseline(gh, "backfill", [SLICE])
            base_big = await baseline(gh, "backfill", [BIG]) if opts.full_baseline else None
            poll = await idle_poll(gh, polled, Path(folder), clock)
            base_poll = await baseline(gh, "poll", polled)
    finally:
        await gh.stop()
    report.raw = {"vestry": big, "vestry_slice": small, "baseline_slice": base_small, "baseline_full": base_big}
    report.raw |= {"idle_poll": poll, "baseline_poll": base_poll}
    _measures(report, opts, big, small, base_small, base_big, poll, base_poll)
    return report


def _measures(
    report: Report,
    opts: Options,
    big: dict[str, Any],
    small: dict[str, Any],
    base_small: dict[str, Any],
    base_big: dict[str, Any] | None,
    poll: dict[str, Any],
    base_poll: dict[str, Any],
) -> None:
    if base_big is not None:
        baseline_big, how = float(base_big["requests"]), "measured"
    else:
        baseline_big = base_small["requests"] * opts.prs / opts.baseline_prs
        how = f"extrapolated ×{opts.prs / opts.baseline_prs:g} from {base_small['requests']:,} on {opts.baseline_prs:,}"
    fewer = ratio_of(baseline_big, big["requests"])
    report.add(
        Measure(
            f"backfill of {opts.prs:,} merged PRs",
            "requests",
            big["requests"],
            baseline_big,
            target="≤ 250 and ≥ 100× fewer",
            met=big["requests"] <= 250 and fewer is not None and fewer >= 100,
            ratio=fewer,
            ratio_label="fewer",
            note=f"baseline {how}",
        )
    )
    report.add(
        Measure(
            f"backfill of {opts.baseline_prs:,} merged PRs (same size)",
            "requests",
            small["requests"],
            base_small["requests"],
            ratio=ratio_of(base_small["requests"], small["requests"]),
            ratio_label="fewer",
        )
    )
    base_seconds = base_big["seconds"] if base_big else base_small["seconds"] * opts.prs / opts.baseline_prs
    report.add(
        Measure(
            f"backfill of {opts.prs:,}: wall time",
            "s",
            big["seconds"],
            base_seconds,
            ratio=ratio_of(base_seconds, big["seconds"]),
            ratio_label="faster",
            note="baseline " + ("measured" if base_big else "extrapolated") + "; emulator on loopback, no throttling",
        )
    )
    report.add(
        Measure(
            f"idle poll of {opts.repos} repositories: requests counted by the rate limit",
            "requests",
            poll["rate_limit_used"],
            base_poll["rate_limit_used"],
            target="0",
            met=poll["rate_limit_used"] == 0,
            note=f"Vestry sent {poll['requests']} requests, {poll['not_modified']} answered 304",
        )
    )
    complete = big["merged_in_ledger"] == opts.prs and big["with_merger"] == opts.prs
    report.notes.append(
        f"Vestry's backfill landed {big['merged_in_ledger']:,} merged PRs ({big['with_merger']:,} with their merger) "
        f"and {big['reviews_in_ledger']:,} reviews in the ledger{'' if complete else ' — INCOMPLETE'}; "
        f"the baseline read {base_small['merged']:,} merged PRs and {base_small['reviews']:,} reviews of the slice."
    )
    if poll["errors"]:
        report.notes.append(f"poll errors: {poll['errors']}")
