"""The GitHub worker against the emulator: plain data back, one thread, typed errors."""

from __future__ import annotations

import threading
import time

import pytest

from bot.clock import ManualClock
from bot.github.client import GitHubWorker
from bot.github.types import GitHubUnavailable, NotFound, RateLimited
from bot.sandbox.github_emulator import GitHubEmulator
from tests.github.conftest import REPO


async def test_every_call_runs_on_the_one_worker_thread(worker: GitHubWorker) -> None:
    names = {await worker.call(lambda gh: threading.current_thread().name) for _ in range(5)}
    assert len(names) == 1 and next(iter(names)).startswith("github")
    assert next(iter(names)) != threading.current_thread().name


async def test_get_user_returns_plain_data_with_bio(worker: GitHubWorker, emulator: GitHubEmulator) -> None:
    emulator.set_bio("alice", "vestry-proof-1234")
    await emulator.create_user("helper[bot]", "Bot", deliver=False)

    alice = await worker.get_user("alice")
    robot = await worker.get_user("helper[bot]")

    assert alice is not None and (alice.id, alice.login, alice.bio, alice.is_bot) == (
        emulator.user_id("alice"),
        "alice",
        "vestry-proof-1234",
        False,
    )
    assert robot is not None and robot.is_bot
    assert await worker.get_user("nobody-here") is None
    assert alice.actor().id == alice.id


async def test_gist_texts_for_proof_of_ownership(worker: GitHubWorker, emulator: GitHubEmulator) -> None:
    gist = await emulator.create_gist("bob", "my vestry phrase: blue-otter-42")

    assert await worker.get_user_gists_text("bob") == ["my vestry phrase: blue-otter-42"]
    assert await worker.get_gist_text(gist["id"]) == "my vestry phrase: blue-otter-42"
    assert await worker.get_gist_text("0" * 32) is None
    assert await worker.get_user_gists_text("nobody-here") == []


async def test_repository_queries(worker: GitHubWorker, emulator: GitHubEmulator) -> None:
    number = (await emulator.open_pull(REPO, "alice", "Widgets", deliver=False))["number"]
    await emulator.request_reviews(REPO, number, ["bob"], teams=["core"], deliver=False)
    await emulator.open_issue(REPO, "bob", "Easy one", labels=["good first issue"], deliver=False)
    await emulator.open_issue(REPO, "bob", "Helpful", labels=["help wanted"], deliver=False)
    await emulator.open_issue(REPO, "bob", "Hard one", labels=["bug"], deliver=False)
    await emulator.star(REPO, "carol", deliver=False)

    [pull] = await worker.list_open_pulls(REPO)
    issues = await worker.list_good_first_issues(REPO, ["good first issue", "help wanted"], limit=5)

    assert pull.pull.number == number and pull.pull.state == "open"
    assert [u.login for u in pull.requested_users] == ["bob"] and pull.requested_teams == ("core",)
    assert [issue["title"] for issue in issues] == ["Helpful", "Easy one"]
    assert set(issues[0]) == {"number", "title", "url", "labels"}
    assert await worker.stargazers_count(REPO) == 1
    with pytest.raises(NotFound):
        await worker.stargazers_count("acme/missing")


async def test_rate_limit_status_is_tracked(worker: GitHubWorker) -> None:
    limits = await worker.rate_limit()
    await worker.get_user("alice")

    assert limits["core"].limit == 5000 and limits["graphql"].remaining == 5000
    assert worker.rate_limit_remaining is not None and worker.rate_limit_remaining < 5000
    assert worker.rate_limit_reset is not None and worker.requests_made == 2 and worker.backoff_until is None


async def test_primary_rate_limit_raises_at_once_and_holds_later_calls(
    worker: GitHubWorker, emulator: GitHubEmulator, clock: ManualClock
) -> None:
    emulator.add_fault("GET", "/users/{login}", 403, 1, retry_after=3600)
    started = time.monotonic()

    with pytest.raises(RateLimited) as caught:
        await worker.get_user("alice")

    assert time.monotonic() - started < 2, "the worker must not sleep through a long rate limit"
    assert not caught.value.secondary and caught.value.resource == "core"
    assert worker.backoff_until == caught.value.reset_at
    emulator.reset_request_counts()
    with pytest.raises(RateLimited):
        await worker.get_user("alice")
    assert emulator.request_counts() == {}, "no request is sent while the limit holds"
    clock.advance(3601)
    assert await worker.get_user("alice") is not None


async def test_secondary_rate_limit_with_long_retry_after_is_not_slept_through(
    worker: GitHubWorker, emulator: GitHubEmulator
) -> None:
    emulator.add_fault("GET", "/users/{login}", "secondary-rate-limit", 1, retry_after=90)

    with pytest.raises(RateLimited) as caught:
        await worker.get_user("alice")

    assert caught.value.secondary


async def test_429_without_retry_after_is_a_rate_limit(worker: GitHubWorker, emulator: GitHubEmulator) -> None:
    emulator.add_fault("GET", "/users/{login}", 429, 1, retry_after=600)

    with pytest.raises(RateLimited):
        await worker.get_user("alice")


async def test_server_errors_beyond_the_retries_are_unavailable(worker: GitHubWorker, emulator: GitHubEmulator) -> None:
    emulator.add_fault("GET", "/users/{login}", 500, 10)

    with pytest.raises(GitHubUnavailable):
        await worker.get_user("alice")


async def test_unreachable_github_is_unavailable(clock: ManualClock) -> None:
    worker = GitHubWorker("http://127.0.0.1:9", "token", clock=clock, throttle=False, retries=0, timeout=2)
    await worker.start()
    try:
        with pytest.raises(GitHubUnavailable):
            await worker.get_user("alice")
    finally:
        await worker.close()


async def test_calls_before_start_are_refused(clock: ManualClock) -> None:
    with pytest.raises(RuntimeError):
        await GitHubWorker("http://127.0.0.1:9", "token", clock=clock).get_user("alice")
