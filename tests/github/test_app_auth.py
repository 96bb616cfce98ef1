"""The worker as a GitHub App installation: tokens fetched once, renewed before they lapse, replaced when refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.config.github import AppCredentials
from bot.github.client import GitHubError, GitHubWorker
from bot.github.installation import installation_repositories
from bot.sandbox.github_emulator import GitHubEmulator

REPO = "acme/widgets"


@pytest.fixture
async def app_worker(emulator: GitHubEmulator, clock: ManualClock) -> AsyncIterator[GitHubWorker]:
    app = emulator.create_app("Vestry Test")
    await emulator.install_app([REPO], deliver=False)
    credentials = AppCredentials(app.id, app.private_key)
    worker = GitHubWorker(emulator.url, app=credentials, app_repository=REPO, clock=clock, throttle=False)
    await worker.start()
    yield worker
    await worker.close()


async def test_one_installation_token_serves_many_requests(app_worker: GitHubWorker, emulator: GitHubEmulator) -> None:
    for _ in range(3):
        assert (await app_worker.repository(REPO))["full_name"] == REPO
    assert len(emulator.world.apps.tokens) == 1
    listed, etag = await installation_repositories(app_worker)
    assert [r["full_name"] for r in listed or []] == [REPO]
    assert await installation_repositories(app_worker, etag) == (None, etag)  # unchanged: a free 304
    assert emulator.gate.rejections.list() == []


async def test_a_token_about_to_lapse_is_renewed_before_github_refuses_it(
    app_worker: GitHubWorker, emulator: GitHubEmulator
) -> None:
    emulator.world.apps.token_lifetime = 10  # less than the margin PyGithub renews within (20 s before expiry)
    await app_worker.repository(REPO)
    await app_worker.repository(REPO)
    assert len(emulator.world.apps.tokens) == 2
    assert emulator.gate.rejections.list() == []


async def test_a_refused_token_is_replaced_once_and_the_call_succeeds(
    app_worker: GitHubWorker, emulator: GitHubEmulator
) -> None:
    await app_worker.repository(REPO)
    emulator.expire_app_tokens()
    assert (await app_worker.repository(REPO))["full_name"] == REPO
    assert [r["message"] for r in emulator.gate.rejections.list()] == ["Bad credentials"]


async def test_an_app_installed_nowhere_is_a_typed_error_not_a_crash(
    emulator: GitHubEmulator, clock: ManualClock
) -> None:
    app = emulator.create_app("Lonely")
    worker = GitHubWorker(emulator.url, app=AppCredentials(app.id, app.private_key), clock=clock, throttle=False)
    await worker.start()
    try:
        with pytest.raises(GitHubError, match="not installed on any repository"):
            await worker.repository(REPO)
    finally:
        await worker.close()
