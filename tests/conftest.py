"""Shared fixtures: real SQLite databases with the real migrations, and the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.db import Database

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
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


@asynccontextmanager
async def running_sandbox(**kwargs: Any) -> AsyncIterator[Any]:
    """Start a sandbox in this process and yield a ControlClient bound to it (``.sandbox`` is the Sandbox)."""
    from bot.sandbox.client import ControlClient
    from bot.sandbox.runner import Sandbox

    sandbox = Sandbox(**kwargs)
    try:
        await sandbox.start()
        client = ControlClient(sandbox.control_url)
        client.sandbox = sandbox  # type: ignore[attr-defined]
        try:
            yield client
        finally:
            await client.close()
    finally:
        await sandbox.stop()


@pytest.fixture
async def sandbox() -> AsyncIterator[Any]:
    """A fresh sandbox with the built-in configuration (webhooks on)."""
    async with running_sandbox() as client:
        yield client


@pytest.fixture
def sandbox_factory() -> Callable[..., Any]:
    """Start a sandbox with options: ``async with sandbox_factory(overrides={...}, poll=True) as sb``."""
    return running_sandbox
