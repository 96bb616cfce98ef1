"""The database: migrations apply once, each in one transaction; a failing one rolls back and names itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.db import Database, Migration, MigrationError, bundled_migrations


async def test_bundled_migrations_apply_and_set_user_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.sqlite3")
    await db.open()
    applied = await db.migrate()
    assert applied[0] == "0001_initial.sql"
    assert await db.user_version() == bundled_migrations()[-1].version
    assert await db.migrate() == []
    mode = await db.fetchval("PRAGMA journal_mode")
    assert mode == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    await db.close()


async def test_failing_migration_rolls_back_and_names_the_file(tmp_path: Path) -> None:
    db = Database(tmp_path / "b.sqlite3")
    await db.open()
    await db.migrate()
    version = await db.user_version()
    broken = Migration(
        version + 1,
        f"{version + 1:04d}_broken.sql",
        "CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);",
    )
    with pytest.raises(MigrationError) as caught:
        await db.migrate([broken])
    assert f"{version + 1:04d}_broken.sql" in str(caught.value)
    assert await db.user_version() == version
    assert await db.fetchval("SELECT name FROM sqlite_master WHERE name = 'half_done'") is None
    await db.close()


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO state(key, value) VALUES ('k', 'v')")
            raise RuntimeError("boom")
    assert await db.get_state("k") is None


async def test_backup_while_writing_passes_integrity_check(db: Database, tmp_path: Path) -> None:
    for i in range(200):
        await db.set_state(f"k{i}", "x" * 100)
    target = tmp_path / "backup.sqlite3"
    await db.backup(target)
    copy = Database(target)
    await copy.open()
    assert await copy.fetchval("PRAGMA integrity_check") == "ok"
    assert await copy.get_state("k199") == "x" * 100
    await copy.close()
