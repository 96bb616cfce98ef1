"""Fixtures for the GitHub adapter: the real GitHub emulator, a worker pointed at it, a real ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.github.backfill import Backfill
from bot.github.client import GitHubWorker
from bot.github.poller import Poller
from bot.ledger import Ledger
from bot.sandbox.github_emulator import GitHubEmulator

REPO = "acme/widgets"


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[GitHubEmulator]:
    """A running GitHub emulator with one repository and a few people."""
    github = GitHubEmulator(clock=clock)
    await github.start(port=0)
    await github.create_repo(REPO, deliver=False)
    for login in ("alice", "bob", "carol", "maintainer"):
        await github.create_user(login, deliver=False)
    yield github
    await github.stop()


@pytest.fixture
async def worker(emulator: GitHubEmulator, clock: ManualClock) -> AsyncIterator[GitHubWorker]:
    """A started worker talking to the emulator, with sandbox settings (no throttling, no retry waits)."""
    github = GitHubWorker(emulator.url, emulator.token, clock=clock, throttle=False, retry_backoff=0)
    await github.start()
    yield github
    await github.close()


@pytest.fixture
def ledger(db: Database, clock: ManualClock) -> Ledger:
    """The real ledger on the test database."""
    return Ledger(db, clock)


@pytest.fixture
def poller(worker: GitHubWorker, ledger: Ledger, db: Database, clock: ManualClock) -> Poller:
    """A poller following the one test repository."""
    return Poller(worker, ledger, db, clock, [REPO], jitter=5.0)


@pytest.fixture
def backfill(worker: GitHubWorker, ledger: Ledger, db: Database, clock: ManualClock) -> Backfill:
    """A backfill on the test database."""
    return Backfill(worker, ledger, db, clock)
