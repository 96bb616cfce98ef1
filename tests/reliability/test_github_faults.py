"""GitHub failures: 5xx, timeouts, primary and secondary rate limits during polls and backfill.

The bot backs off, keeps answering commands, says so in /vestry status, and loses nothing: once GitHub answers
again every merge is in the ledger once and every first PR is announced once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout, web

from bot.github.client import GitHubWorker
from bot.github.poller import Poller
from bot.ledger import Ledger
from tests.reliability import checks
from tests.reliability.test_discord_faults import file_query

PULLS = "/repos/{owner}/{repo}/pulls"
REPO = "sandbox/project"
AUTHORS = ["ann", "ben", "cat"]


async def status_problems(sb: Any) -> str:
    """The Problems field of /vestry status, as the owner sees it."""
    result = await sb.command("owner", "vestry status")
    embed = result["responses"][0]["embeds"][0]
    return str(next(f["value"] for f in embed["fields"] if f["name"] == "Problems"))


async def merge_silently(sb: Any) -> list[int]:
    """Merges that reach GitHub but never reach the bot as webhooks (polling must find them)."""
    numbers = []
    for name in AUTHORS:
        await sb.post("/github/users", {"login": name}, deliver=False)
        number = await sb.pull(name, f"Work by {name}", deliver=False)
        await sb.merge(number, deliver=False)
        numbers.append(number)
    return numbers


def github_requests(sb: Any) -> int:
    return sum(c["requests"] for c in sb.sandbox.github.request_counts().values())


async def test_polls_through_5xx_and_rate_limits_back_off_keep_serving_and_lose_nothing(sandbox_factory: Any) -> None:
    async with sandbox_factory(poll=True) as sb:
        github = sb.sandbox.github
        await sb.run_job("github.poll")
        await sb.clock(advance=5)
        await merge_silently(sb)

        github.add_fault("GET", PULLS, 503, 10, 1)  # more than PyGithub's retries
        await sb.run_job("github.poll")
        assert (await sb.command("owner", "rank"))["responses"], "commands are answered while GitHub fails"
        assert "GitHub" in await status_problems(sb), "/vestry status reports the failing polls"

        github.clear_faults()
        github.add_fault("GET", PULLS, 403, 1, 600)  # primary: X-RateLimit-Remaining 0, reset in 10 min
        await sb.run_job("github.poll")
        assert "rate limit" in await status_problems(sb)
        before = github_requests(sb)
        await sb.run_job("github.poll")
        assert github_requests(sb) == before, "no request is made while the backoff holds"

        await sb.clock(advance=15 * 60)
        github.add_fault("GET", PULLS, "secondary-rate-limit", 1, 60)
        await sb.run_job("github.poll")
        assert "rate limit" in await status_problems(sb)
        assert (await sb.command("owner", "vestry status"))["responses"]

        await sb.clock(advance=10 * 60)
        await sb.run_job("github.poll")
        await sb.settle()
        query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
        assert checks.ledger_matches_github(github, query, REPO) == []
        assert checks.first_prs_announced_once(sb.sandbox.discord, github, query, REPO) == []
        assert checks.exactly_once(sb.sandbox.discord, query) == []
        assert "rate limit" not in await status_problems(sb)
    checks.record(
        "GitHub failures during polls (503 x10, primary and secondary rate limits)",
        3,
        "polls back off (no request while a limit holds), commands answered, /vestry status reports it, "
        "every merge recorded and announced once afterwards",
    )


async def test_backfill_through_5xx_and_rate_limits_resumes_and_imports_everything_once(sandbox_factory: Any) -> None:
    async with sandbox_factory() as sb:
        github = sb.sandbox.github
        history = [
            {"number": n, "author": f"old{n % 4}", "merged_at": f"2024-0{1 + n % 9}-1{n % 9}T10:00:00Z"}
            for n in range(1, 31)
        ]
        await sb.post("/github/history", {"repo": REPO, "pulls": history})
        answers = []
        for fault in ((502, 10), ("secondary-rate-limit", 1), (403, 1)):
            github.add_fault("POST", "/graphql", fault[0], fault[1], 60)
            answers.append(await backfill(sb))
            assert (await sb.command("owner", "rank"))["responses"], "commands are answered during the failures"
            github.clear_faults()
            await sb.clock(advance=15 * 60)
        answers.append(await backfill(sb))
        assert "could not be reached" in answers[0], answers[0]
        assert all("rate limit" in answer for answer in answers[1:3]), answers
        assert "Backfill finished" in answers[-1] and "30 pull requests" not in answers[0]
        await sb.settle()
        query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
        merged = query("SELECT COUNT(*) AS n, COUNT(DISTINCT number) AS d FROM pull_requests WHERE historical = 1", ())
        assert merged[0]["n"] == merged[0]["d"] == 30
        assert not [m for m in sb.sandbox.discord.messages("kudos")], "history is never announced"
    checks.record(
        "GitHub failures during backfill (502 x10, secondary and primary rate limits)",
        4,
        "each failure reported to the maintainer with when to retry; the rerun resumed; 30/30 PRs imported once, "
        "none announced",
    )


async def backfill(sb: Any) -> str:
    result = await sb.command("owner", "vestry backfill")
    return "\n".join(str(r["content"]) for r in result["responses"])


class SlowProxy:
    """A reverse proxy in front of the GitHub emulator that stalls the next ``stall`` requests to a path."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.stall = 0
        self.stalled = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = ClientSession(timeout=ClientTimeout(total=30))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if self.stall > 0 and request.path.endswith("/pulls"):
            self.stall -= 1
            self.stalled += 1
            await asyncio.sleep(2.5)  # longer than the worker's timeout
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, self.target + request.path_qs, headers=headers, data=await request.read()
        ) as answer:
            body = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
            out.pop("Content-Encoding", None)
            return web.Response(status=answer.status, body=body, headers=out)


@pytest.fixture
async def slow_github(clock: Any) -> AsyncIterator[tuple[Any, SlowProxy]]:
    from bot.sandbox.github_emulator import GitHubEmulator

    github = GitHubEmulator(clock=clock)
    await github.start()
    await github.create_repo(REPO, deliver=False)
    for login in ("maintainer", *AUTHORS):
        await github.create_user(login, deliver=False)
    proxy = SlowProxy(github.url)
    await proxy.start()
    yield github, proxy
    await proxy.stop()
    await github.stop()


async def test_a_poll_that_times_out_fails_cleanly_and_the_next_poll_recovers_everything(
    db: Any, clock: Any, slow_github: tuple[Any, SlowProxy]
) -> None:
    github, proxy = slow_github
    worker = GitHubWorker(proxy.url, github.token, clock=clock, throttle=False, timeout=1, retries=1, retry_backoff=0)
    await worker.start()
    try:
        ledger = Ledger(db, clock)
        await ledger.go_live()
        poller = Poller(worker, ledger, db, clock, [REPO], jitter=0)
        clock.advance(5)
        for name in AUTHORS:
            number = (await github.open_pull(REPO, name, f"Work by {name}", deliver=False))["number"]
            await github.merge_pull(REPO, number, "maintainer", deliver=False)
        clock.advance(5)
        proxy.stall = 2
        report = await poller.poll()
        assert report.errors and proxy.stalled == 2, report
        assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == 0
        report = await poller.poll()
        assert not report.errors, report
        assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'") == len(AUTHORS)
        assert await db.fetchval("SELECT COUNT(*) FROM events WHERE kind = 'pr.merged'") == len(AUTHORS)
    finally:
        await worker.close()
    checks.record(
        "GitHub timeouts during a poll (requests stalled past the worker's timeout)",
        2,
        "the poll ends with a typed error, nothing half-written; the next poll records each merge once",
    )
