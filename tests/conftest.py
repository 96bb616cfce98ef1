"""Shared fixtures: real SQLite databases with the real migrations, and the sandbox."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.sandbox.client import running_sandbox

# The conformance corpus and the replay data live beside the project (../shared); VESTRY_SHARED_DIR points
# elsewhere. Tests that read them skip, saying where they looked, when they are absent.
SHARED = Path(os.environ.get("VESTRY_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")
FIXTURES = SHARED / "fixtures"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in a real file."""
    database = Database(tmp_path / "vestry.sqlite3")
    await database.open()
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def clock() -> ManualClock:
    """A clock tests can move."""
    from datetime import UTC, datetime

    return ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
async def sandbox() -> AsyncIterator[Any]:
    """A fresh sandbox with the built-in configuration (webhooks on).

    Device codes ask for a 1 s polling interval here (GitHub's is 5 s, the sandbox's default) so links are quick.
    """
    async with running_sandbox(device_interval=1) as client:
        yield client


@pytest.fixture
def sandbox_factory() -> Callable[..., Any]:
    """Start a sandbox with options: ``async with sandbox_factory(overrides={...}, poll=True) as sb``."""
    return running_sandbox
