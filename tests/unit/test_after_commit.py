"""The one after-commit hook: writers name what they wrote; listeners run after the commit, never after a rollback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.db import Database
from bot.db.commits import EVENTS, OUTBOX, wrote
from bot.domain import MemberLinked
from bot.events import append_event
from bot.messages import OutMessage
from bot.outbox import enqueue_message

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "vestry.db", allow_empty=True)
    await database.open()
    await database.migrate()
    yield database  # type: ignore[misc]
    await database.close()


async def test_each_topic_wakes_its_listeners_once_the_transaction_commits(db: Database) -> None:
    woken: list[str] = []
    db.after_commit(EVENTS, lambda: woken.append("bus"))
    db.after_commit(OUTBOX, lambda: woken.append("dispatcher"))
    async with db.transaction() as conn:
        await append_event(conn, MemberLinked(guild_id=1, discord_id=1, github_id=1), historical=False, now=NOW)
        assert woken == [], "nobody is woken before the commit"
    assert woken == ["bus"]
    async with db.transaction() as conn:
        await enqueue_message(conn, "post:1", 10, OutMessage("hello"), now=NOW)
    assert woken == ["bus", "dispatcher"]
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO state(key, value) VALUES ('unrelated', '1')")
    assert woken == ["bus", "dispatcher"], "a write of neither topic wakes nobody"


async def test_a_rolled_back_transaction_wakes_nobody(db: Database) -> None:
    woken: list[str] = []
    db.after_commit(OUTBOX, lambda: woken.append("dispatcher"))
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await enqueue_message(conn, "post:2", 10, OutMessage("hello"), now=NOW)
            raise RuntimeError("the command failed after queueing its post")
    assert woken == []
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 0


async def test_a_failing_listener_does_not_keep_the_others_from_running(db: Database) -> None:
    woken: list[str] = []

    def broken() -> None:
        raise ValueError("broken listener")

    db.after_commit(EVENTS, broken)
    db.after_commit(EVENTS, lambda: woken.append("bus"))
    async with db.transaction():
        wrote(EVENTS)
    assert woken == ["bus"]


def test_writing_outside_a_transaction_wakes_nobody_and_does_not_fail() -> None:
    wrote(OUTBOX)  # a bare connection in a test: nothing collects it


def test_nothing_but_the_hook_wakes_the_bus_or_the_dispatcher() -> None:
    """A writer that wakes a worker itself is a second door: it would be forgotten somewhere, sooner or later."""
    root = Path(__file__).resolve().parents[2]
    doors = []
    for path in [*root.joinpath("bot").rglob("*.py"), *root.joinpath("cogs").rglob("*.py")]:
        if "sandbox" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "dispatcher.wake(" in line or "bus.notify(" in line or ".after_commit.append(" in line:
                doors.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert doors == []
