"""A full disk and a read-only database: a clear error, nothing half-written, and the file passes
``PRAGMA integrity_check`` afterwards.

A full disk is a real one when the test may mount a tiny tmpfs (root with mount rights), else SQLite's own
``PRAGMA max_page_count`` makes the database "full". A read-only file is a read-only bind mount when possible
(root ignores file permissions, so chmod 0444 proves nothing), else ``PRAGMA query_only``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.db import Database, DatabaseError
from bot.events import EventBus
from bot.ledger import Actor, Ledger, PullFact
from tests.reliability import checks
from tests.reliability.test_discord_faults import file_query


def _mount(*args: str) -> bool:
    try:
        return subprocess.run(["mount", *args], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str = "2m") -> Iterator[bool]:
    """Mount a tiny tmpfs at ``folder``; yield whether it worked."""
    folder.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[bool]:
    """Remount ``folder`` read-only over itself; yield whether it worked."""
    mounted = _mount("--bind", "-o", "ro", str(folder), str(folder))
    if mounted and not _mount("-o", "remount,bind,ro", str(folder)):
        with contextlib.suppress(OSError):
            (folder / ".probe").write_text("x")
            (folder / ".probe").unlink()
            mounted = False  # still writable: give up on the mount
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10)


def merged(number: int, author: int) -> PullFact:
    when = datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(minutes=number)
    return PullFact(
        repo="acme/widgets",
        number=number,
        title=f"Change {number} " + "x" * 3000,
        url=f"https://github.com/acme/widgets/pull/{number}",
        author=Actor(author, f"dev{author}"),
        state="merged",
        merged_at=when,
        updated_at=when,
        merged_by=Actor(1, "maintainer"),
    )


async def fill(ledger: Ledger, limit: int = 2000) -> tuple[int, BaseException | None]:
    """Apply merges, 20 to a transaction, until the database refuses; return how many went in and the error."""
    applied = 0
    for start in range(1, limit, 20):
        try:
            await ledger.apply([merged(n, 100 + n % 7) for n in range(start, start + 20)], "webhook")
        except Exception as exc:
            return applied, exc
        applied += 20
    return applied, None


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def whole_transactions(path: Path) -> list[str]:
    """Every merged pull request has its event and every event its pull request (they commit together)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        prs = {n for (n,) in conn.execute("SELECT number FROM pull_requests WHERE state = 'merged'")}
        events = {n for (n,) in conn.execute("SELECT json_extract(payload, '$.number') FROM events")}
        count = conn.execute("SELECT COUNT(*) FROM pull_requests").fetchone()[0]
    problems = [f"#{n} without its event" for n in prs - events]
    problems += [f"event for #{n} without a PR" for n in events - prs]
    if count % 20:
        problems.append(f"{count} pull requests: a transaction of 20 was cut short")
    return problems


async def open_ledger(path: Path, clock: ManualClock) -> tuple[Database, Ledger]:
    db = Database(path)
    await db.open()
    await db.migrate()
    ledger = Ledger(db, clock)
    await ledger.go_live()
    return db, ledger


@pytest.mark.parametrize("how", ["tmpfs", "max_page_count"])
async def test_a_full_disk_gives_a_clear_error_and_leaves_a_sound_database(
    tmp_path: Path, clock: ManualClock, how: str
) -> None:
    with tiny_disk(tmp_path / "disk") if how == "tmpfs" else contextlib.nullcontext(False) as real:
        if how == "tmpfs" and not real:
            pytest.skip("mounting a tmpfs needs root with mount rights; the max_page_count case still runs")
        if not real:
            (tmp_path / "disk").mkdir()
        path = tmp_path / "disk" / "vestry.sqlite3"
        db, ledger = await open_ledger(path, clock)
        if not real:
            pages = await db.fetchval("PRAGMA page_count")
            await db.conn.execute(f"PRAGMA max_page_count = {int(pages) + 40}")
        applied, error = await fill(ledger)
        assert error is not None, "the disk never filled up"
        assert isinstance(error, DatabaseError), repr(error)
        assert "full" in str(error) and str(path) in str(error), str(error)
        assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == applied, "reads still work"
        await db.close()
        assert integrity(path) == "ok"
        assert whole_transactions(path) == []
    checks.record(
        f"full disk ({'tmpfs of 2 MiB' if real else 'PRAGMA max_page_count'})",
        applied // 20 + 1,
        f"clear DatabaseError after {applied} merges; integrity_check ok; no transaction half-written",
    )


async def test_a_database_that_turns_read_only_refuses_writes_clearly_and_stays_sound(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "vestry.sqlite3"
    db, ledger = await open_ledger(path, clock)
    await ledger.apply([merged(1, 101)], "webhook")
    # A mount turned read-only under a running process still writes through its open descriptors, so the
    # connection itself is made read-only, as SQLite reports it then (SQLITE_READONLY).
    await db.conn.execute("PRAGMA query_only = ON")
    with pytest.raises(DatabaseError) as caught:
        await ledger.apply([merged(2, 102)], "webhook")
    assert "read-only" in str(caught.value) and str(path) in str(caught.value), str(caught.value)
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests") == 1, "reads still work"
    await db.conn.execute("PRAGMA query_only = OFF")
    await ledger.apply([merged(2, 102)], "webhook")
    assert await db.fetchval("SELECT COUNT(*) FROM events") == 2, "it writes again once writable"
    await db.close()
    assert integrity(path) == "ok"
    checks.record(
        "database turning read-only while running (PRAGMA query_only)",
        2,
        "clear DatabaseError naming the file; reads keep working; writes resume; integrity_check ok",
    )


async def test_start_up_on_a_read_only_database_stops_with_a_clear_message(tmp_path: Path) -> None:
    from bot.app import open_database
    from bot.config import parse_settings

    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "vestry.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as made:
        made.execute("CREATE TABLE made(x)")  # a real database file (a bare connect leaves 0 bytes, refused anyway)
    settings = parse_settings(
        {"discord": {"guild_id": 1}, "github": {"repositories": ["a/b"]}, "database": {"path": str(path)}}, "test"
    )
    with read_only(folder) as real:
        if not real:
            pytest.skip("needs a read-only mount (root ignores file permissions)")
        with pytest.raises(DatabaseError) as caught:
            await open_database(settings)
    assert "read-only" in str(caught.value) and str(path) in str(caught.value), str(caught.value)
    checks.record(
        "start-up on a read-only database (read-only bind mount)",
        1,
        "start-up stops before Discord with a DatabaseError naming the file and folder to make writable",
    )


async def test_the_running_bot_on_an_unwritable_database_answers_clearly_and_catches_up_afterwards(
    sandbox: Any,
) -> None:
    sb, services = sandbox, sandbox.sandbox.services
    await sb.add_member("ann")
    await sb.user("ann")
    await sb.command("owner", "vestry link", member="ann", github="ann")
    await sb.settle()
    # Every write fails, as on a full disk where the WAL cannot grow (max_page_count would only stop new pages).
    await services.db.conn.execute("PRAGMA query_only = ON")
    number = await sb.pull("ann", "A fix written while the disk was full")
    await sb.merge(number)
    statuses = [d["status"] for d in sb.sandbox.github.deliveries[-2:]]
    assert statuses == [202, 202], "acknowledged: the deliveries wait in the spool, which is not the database"
    kudos = await sb.command("owner", "kudos", member="ann", reason="thanks")
    assert "database is full, read-only or damaged" in kudos["responses"][0]["content"], kudos
    assert (await sb.command("ann", "rank"))["responses"], "reads are still answered"
    assert await services.db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'") == 0
    await services.db.conn.execute("PRAGMA query_only = OFF")  # writable again
    await sb.settle()  # the spooled deliveries are retried and recorded, without waiting for a poll
    assert await services.db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE state = 'merged'") == 1
    path = sb.sandbox.workdir / "vestry.sqlite3"
    assert integrity(path) == "ok"
    query = file_query(path)
    assert checks.first_prs_announced_once(sb.sandbox.discord, sb.sandbox.github, query, "sandbox/project") == []
    assert checks.exactly_once(sb.sandbox.discord, query) == []
    checks.record(
        "running bot whose database refuses writes (PRAGMA query_only on its connection)",
        4,
        "webhooks acknowledged into the spool, a write command answered with a clear message, reads served; "
        "once writable the spooled merge is recorded (no poll needed) and announced once; integrity_check ok",
    )


async def test_vestry_run_on_a_read_only_database_exits_at_once_with_a_clear_message(tmp_path: Path) -> None:
    import os
    import sys

    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "vestry.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as made:
        made.execute("CREATE TABLE made(x)")  # a real database file (a bare connect leaves 0 bytes, refused anyway)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[discord]\nguild_id = 1\n[github]\nrepositories = ["a/b"]\n[database]\npath = "{path}"\n', encoding="utf-8"
    )
    env = {**os.environ, "DISCORD_TOKEN": "unused", "GITHUB_TOKEN": "unused", "GITHUB_WEBHOOK_SECRET": "unused-secret"}
    with read_only(folder) as real:
        if not real:
            pytest.skip("needs a read-only mount (root ignores file permissions)")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        try:
            _, err = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 2, err.decode()
    assert "read-only" in err.decode() and str(path) in err.decode(), err.decode()
    checks.record("`vestry run` on a read-only database", 1, "exits at once with code 2 and the clear message")


class Counting:
    """An event consumer that writes a row per event (as the real ones write outbox rows)."""

    name = "counting"

    def __init__(self) -> None:
        self.handled: list[int] = []

    async def handle(self, conn: Any, events: Any) -> None:
        for event in events:
            await conn.execute("INSERT INTO state(key, value) VALUES (?, ?)", (f"handled:{event.seq}", "x" * 20_000))
            self.handled.append(event.seq)


async def test_events_are_never_skipped_while_the_database_cannot_write(db: Database, clock: ManualClock) -> None:
    from bot.domain import PullMerged
    from bot.events import append_event

    bus = EventBus(db, clock)
    consumer = Counting()
    bus.subscribe(consumer)
    await bus.start()
    try:
        await bus.drain()
        async with db.transaction() as conn:
            await append_event(conn, PullMerged(repo="a/b", number=1), historical=False, now=clock.now())
        # Full: the consumer's large row needs new pages, while moving its cursor would still fit in place.
        pages = int(await db.fetchval("PRAGMA page_count"))
        await db.conn.execute(f"PRAGMA max_page_count = {pages}")
        bus.notify()
        await asyncio.sleep(0.3)
        cursor = await db.fetchval("SELECT seq FROM event_cursors WHERE consumer = 'counting'")
        assert cursor == 0, "the event was skipped instead of kept for later"
        await db.conn.execute("PRAGMA max_page_count = 1073741823")
        await bus.drain(timeout=10)
        assert await db.fetchval("SELECT COUNT(*) FROM state WHERE key LIKE 'handled:%'") == 1
        assert await db.fetchval("SELECT seq FROM event_cursors WHERE consumer = 'counting'") == 1
    finally:
        await bus.stop()
    checks.record(
        "events while the database cannot write",
        1,
        "the consumer's batch is retried, never skipped; handled exactly once when writes return",
    )
