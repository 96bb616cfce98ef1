"""Migration 0009 merges rows whose repository names differ only in case; renames move rows and cursors."""

from __future__ import annotations

from pathlib import Path

from bot.clock import ManualClock
from bot.db import Database, bundled_migrations
from bot.github.repos import Repositories, move_rows

BEFORE = [m for m in bundled_migrations() if m.version < 9]


async def old_database(path: Path) -> Database:
    """A database as Vestry left it before repositories were followed by id, with case-doubled rows."""
    db = Database(path)
    await db.open()
    await db.migrate(BEFORE)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO github_users(id, login, is_bot, updated_at) VALUES (1, 'ann', 0, 'x'), (2, 'dep[bot]', 1, 'x')"
        )
        await conn.executemany(
            "INSERT INTO pull_requests(repo, number, author_id, state, updated_at, merged_at) VALUES (?,?,?,?,?,?)",
            [
                ("acme/widgets", 1, 1, "merged", "2026-01-02T00:00:00+00:00", "2026-01-02T00:00:00+00:00"),
                ("Acme/Widgets", 1, 1, "open", "2026-01-01T00:00:00+00:00", None),
                ("acme/widgets", 2, 1, "open", "2026-01-01T00:00:00+00:00", None),
                ("Acme/Widgets", 3, 1, "merged", "2026-01-03T00:00:00+00:00", "2026-01-03T00:00:00+00:00"),
            ],
        )
        await conn.executemany(
            "INSERT INTO stars(repo, user_id, starred_at) VALUES (?,?,?)",
            [("acme/widgets", 1, "2026-01-05T00:00:00+00:00"), ("Acme/Widgets", 1, "2026-01-04T00:00:00+00:00")],
        )
        await conn.execute(
            "INSERT INTO reviews(id, repo, number, reviewer_id, state, submitted_at) "
            "VALUES (9, 'Acme/Widgets', 1, 1, 'APPROVED', 'x')"
        )
    return db


async def test_migration_merges_rows_differing_only_in_case_and_keeps_the_most_advanced(tmp_path: Path) -> None:
    db = await old_database(tmp_path / "v.sqlite3")
    try:
        await db.migrate()
        # One spelling per repository, the one most rows used (the bot renames it to GitHub's at start-up).
        pulls = await db.fetchall("SELECT repo, number, state FROM pull_requests ORDER BY number")
        assert [tuple(row) for row in pulls] == [
            ("Acme/Widgets", 1, "merged"),
            ("Acme/Widgets", 2, "open"),
            ("Acme/Widgets", 3, "merged"),
        ]
        stars = await db.fetchall("SELECT repo, starred_at FROM stars")
        assert [tuple(row) for row in stars] == [("Acme/Widgets", "2026-01-04T00:00:00+00:00")]
        assert await db.fetchval("SELECT repo FROM reviews WHERE id = 9") == "Acme/Widgets"
        types = await db.fetchall("SELECT login, account_type FROM github_users ORDER BY id")
        assert [tuple(row) for row in types] == [("ann", "User"), ("dep[bot]", "Bot")]
    finally:
        await db.close()


async def test_a_rename_moves_rows_and_saved_cursors_and_status_names_it(tmp_path: Path) -> None:
    db = Database(tmp_path / "v.sqlite3")
    await db.open()
    await db.migrate()
    try:
        await db.execute(
            "INSERT INTO pull_requests(repo, number, state) "
            "VALUES ('acme/widgets', 1, 'open'), ('Acme/Widgets', 2, 'open')"
        )
        await db.set_state("poll:cursor:acme/widgets:pulls", "{}")
        repos = Repositories(["Acme/Widgets"])

        async def fetch(name: str) -> dict[str, object]:
            return {"id": 42, "full_name": "acme/gadgets"}

        await repos.resolve(db, ManualClock(), fetch)
        rows = await db.fetchall("SELECT repo, number FROM pull_requests ORDER BY number")
        assert [tuple(row) for row in rows] == [("acme/gadgets", 1), ("acme/gadgets", 2)]
        assert await db.get_state("poll:cursor:acme/gadgets:pulls") == "{}"
        assert repos.problems() == [
            "Acme/Widgets: renamed from Acme/Widgets to acme/gadgets; update config.toml "
            "(Vestry follows it by id meanwhile)"
        ]
        assert repos.find("ACME/GADGETS") is repos.find(repo_id=42) is not None
        async with db.transaction() as conn:
            await move_rows(conn, "acme/gadgets", "acme/gadgets")
        again = Repositories(["Acme/Widgets"])
        await again.load(db)
        assert again.names() == ["acme/gadgets"] and again.records[0].id == 42
    finally:
        await db.close()
