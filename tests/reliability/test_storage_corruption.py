"""A damaged or empty database file is a storage fault: refused at start, retried while running, never "processed".

Fails on the code before these checks: a database with damaged pages started and ran as healthy (`/healthz` 200);
a merge webhook hitting "database disk image is malformed" was marked processed with that error and its
celebration skipped for good; a 0-byte database file was taken as a new install.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import open_database
from bot.cli import main as vestry
from bot.config import parse_settings
from bot.db import Database, DatabaseError
from tests.reliability import checks


def settings_for(path: Path) -> Any:
    """Settings whose database is ``path``."""
    data = {"discord": {"guild_id": 1}, "github": {"repositories": ["a/b"]}, "database": {"path": str(path)}}
    return parse_settings(data, "test")


def damage(path: Path) -> None:
    """Overwrite the middle of a real table's pages with garbage, as a torn write or a bad disk would."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler(x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,) for _ in range(200)])
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'filler'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as raw:
        raw.seek((root - 1) * size)
        raw.write(b"\xff" * size * 3)


async def test_a_damaged_file_is_refused_at_start_in_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vestry.sqlite3"
    db = await open_database(settings_for(path))
    await db.close()
    damage(path)
    with pytest.raises(DatabaseError) as caught:
        await open_database(settings_for(path))
    message = str(caught.value)
    assert "damaged" in message and str(path) in message and "vestry db backup" in message, message
    assert "\n" not in message
    checks.record("damaged database at start (PRAGMA quick_check)", cases=1, held="refused in one line")


async def test_an_empty_file_is_refused_unless_db_init_is_run(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "vestry.sqlite3"
    path.touch()
    with pytest.raises(DatabaseError) as caught:
        await open_database(settings_for(path))
    assert "0 bytes" in str(caught.value) and "vestry db init" in str(caught.value)
    assert path.stat().st_size == 0, "nothing was written to it"
    config = tmp_path / "c.toml"
    config.write_text(f'[discord]\nguild_id = 1\n[github]\nrepositories = ["a/b"]\n[database]\npath = "{path}"\n')
    assert await asyncio.to_thread(vestry, ["db", "migrate", "--config", str(config)]) == 2
    assert await asyncio.to_thread(vestry, ["db", "init", "--config", str(config)]) == 0
    db = await open_database(settings_for(path))
    assert await db.user_version() > 0
    await db.close()
    assert "0 bytes" in capsys.readouterr().err
    checks.record("0-byte database file", cases=2, held="refused; `vestry db init` creates it")


FAULT = (
    "CREATE TRIGGER storage_fault BEFORE INSERT ON pull_requests "
    "BEGIN SELECT RAISE(ABORT, 'database disk image is malformed'); END"
)


async def healthz(url: str) -> tuple[int, dict[str, Any]]:
    """GET /healthz beside the webhook URL."""
    base = url.rsplit("/github/", 1)[0]
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as response:
        return response.status, json.loads(await response.text())


async def test_a_malformed_database_while_running_holds_the_delivery_and_reports_it(sandbox: Any) -> None:
    """SQLite's own "malformed" error is raised on every write to pull_requests (by a trigger in the real file,
    since a page torn under a live connection cannot be reproduced reliably); the damage is then repaired."""
    sb, services = sandbox, sandbox.sandbox.services
    path = Path(services.db.path)
    outside = sqlite3.connect(path)
    outside.execute(FAULT)
    outside.commit()
    await sb.user("newcomer")
    await sb.merge(await sb.pull("newcomer", "A fix made while the disk was failing"))
    for _ in range(100):
        if services.db.fault is not None:
            break
        await asyncio.sleep(0.05)
    status, body = await healthz(services.webhooks.url)
    assert status == 503 and "damaged" in str(body["database"]), body
    answer = (await sb.command("owner", "vestry status"))["responses"][0]["content"]
    assert "Something went wrong" not in answer, answer
    processed = await services.db.fetchall("SELECT error FROM webhook_deliveries WHERE processed_at IS NOT NULL")
    assert not any("malformed" in str(row[0]) for row in processed), "never marked processed with the error"
    outside.execute("DROP TRIGGER storage_fault")  # repaired
    outside.commit()
    outside.close()
    for _ in range(300):  # retried after RETRY_LATER (5 s)
        if services.webhooks.pending() == 0 and await services.db.fetchval("SELECT COUNT(*) FROM pull_requests"):
            break
        await asyncio.sleep(0.05)
    await sb.settle()
    posts = await sb.messages("kudos")
    assert len(posts) == 1 and "newcomer" in posts[0]["content"], posts
    await services.db.execute("SELECT 1")  # a successful write clears the fault
    status, body = await healthz(services.webhooks.url)
    assert status == 200, body
    checks.record("malformed database while running", cases=2, held="held and retried; /healthz 503 meanwhile")


async def test_a_database_opened_twice_without_writes_is_not_taken_for_empty(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    first = Database(path)
    await first.open()
    await first.close()
    second = Database(path)
    await second.open()
    await second.close()
