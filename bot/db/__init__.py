"""The SQLite database: one connection, numbered migrations, serialised write transactions."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.commits import CommitHooks

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """A migration failed; it was rolled back and start-up must stop."""

    def __init__(self, name: str, cause: Exception) -> None:
        self.name = name
        super().__init__(f"migration {name} failed and was rolled back: {cause}")


class DatabaseError(Exception):
    """The database cannot be used (missing folder, read-only, full disk); the message says why."""


# Numbers that never shipped as migrations (see migrations/README.md). They stay unused for good: the schema
# version is the highest number applied, so a file given one of them later would be skipped by every database
# already past it.
RETIRED_MIGRATIONS = frozenset({6, 10, 13})


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """Return the migrations shipped with Vestry, in order."""
    folder = resources.files("bot.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    missing = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions) - RETIRED_MIGRATIONS)
    if missing:
        raise RuntimeError(f"migrations {missing} are missing: a database already past them would never apply them")
    return found


class Database:
    """An aiosqlite connection with WAL, foreign keys and one writer at a time."""

    def __init__(self, path: str | Path, *, allow_empty: bool = False) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._allow_empty = allow_empty
        self.fault: str | None = None  # the last storage failure, until a write succeeds again (for /healthz)
        self.hooks = CommitHooks()

    @property
    def conn(self) -> aiosqlite.Connection:
        """The open connection."""
        if self._conn is None:
            raise RuntimeError("the database is not open")
        return self._conn

    async def open(self) -> None:
        """Open the file, turning on WAL and foreign keys."""
        if self.path != ":memory:":
            folder = Path(self.path).resolve().parent
            if not folder.is_dir():
                raise DatabaseError(f"the database folder {folder} does not exist")
            if not self._allow_empty and _empty_file(Path(self.path)):
                raise DatabaseError(
                    f"the database file {self.path} is empty (0 bytes), so it is not the ledger it should be: restore "
                    "your last backup over it, or run `vestry db init` to start a new, empty database on purpose"
                )
        try:
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA foreign_keys=ON")
            await self._conn.execute("PRAGMA synchronous=NORMAL")
            await self._conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            await self.close()  # an open connection's thread would keep the process from exiting
            clear = storage_error(self.path, exc)
            raise clear or DatabaseError(f"cannot open the database {self.path}: {exc}") from None

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def quick_check(self) -> None:
        """Run SQLite's ``PRAGMA quick_check``; raise DatabaseError in one line when the file is damaged."""
        try:
            rows = await self.conn.execute_fetchall("PRAGMA quick_check(3)")
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, str(exc)) from None
        found = [str(row[0]) for row in rows]
        if found != ["ok"]:
            raise damaged(self.path, "; ".join(found))

    async def user_version(self) -> int:
        """Return the schema version recorded in the file."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> list[str]:
        """Apply every migration newer than the file's version, each in its own transaction."""
        applied = []
        current = await self.user_version()
        for migration in bundled_migrations() if migrations is None else migrations:
            if migration.version <= current:
                continue
            async with self._write_lock:
                try:
                    await self.conn.execute("BEGIN IMMEDIATE")
                    for statement in _split_sql(migration.sql):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version = {int(migration.version)}")
                    await self.conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    await self.conn.execute("ROLLBACK")
                    raise MigrationError(migration.name, exc) from exc
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a write transaction; it commits on success and rolls back on any error.

        A full disk or a read-only file raises DatabaseError with a clear message; nothing is half-written. Once it
        has committed, the listeners of what it wrote run (``after_commit``; never after a rollback).
        """
        async with self._write_lock:
            with explained(self.path, self):
                await self.conn.execute("BEGIN IMMEDIATE")
            with self.hooks.collecting() as written:
                try:
                    with explained(self.path, self):
                        yield self.conn
                except BaseException:
                    if self.conn.in_transaction:  # SQLite may have rolled back already (it does on a full disk)
                        await self.conn.execute("ROLLBACK")
                    raise
                else:
                    try:
                        with explained(self.path, self):
                            await self.conn.execute("COMMIT")
                    except DatabaseError:
                        if self.conn.in_transaction:
                            await self.conn.execute("ROLLBACK")
                        raise
                    self.fault = None
            self.hooks.fire(written)

    def after_commit(self, topic: str, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each committed transaction that wrote ``topic`` (``bot.db.commits``)."""
        self.hooks.add(topic, listener)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        """Run one write statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, tuple(params))

    async def execute_returning(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Run one write statement, atomic on its own, and return the rows of its RETURNING clause.

        A single statement needs no BEGIN and COMMIT around it: one trip to the database thread instead of three.
        """
        async with self._write_lock:
            with explained(self.path, self):
                return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """Run a query and return its first row (it reads the whole result: give LIMIT 1 where it could be long)."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Run a query and return all rows."""
        # One trip to the database thread instead of three (execute, fetch, close): each trip costs the event
        # loop a wake-up, which is most of a small query's price (benchmarks/RESULTS.md, ingest).
        with explained(self.path, self):
            return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchval(self, sql: str, params: Iterable[Any] = (), default: Any = None) -> Any:
        """Run a query and return the first column of its first row."""
        row = await self.fetchone(sql, params)
        return default if row is None or row[0] is None else row[0]

    async def backup(self, target: str | Path) -> None:
        """Copy the database to ``target`` with SQLite's online backup (safe while the bot writes)."""
        target = Path(target)
        if target.exists():
            raise DatabaseError(f"{target} already exists; choose a new file name")
        destination = await aiosqlite.connect(str(target))
        try:
            await self.conn.backup(destination)
        finally:
            await destination.close()

    async def size_bytes(self) -> int:
        """Return the size of the database in bytes."""
        pages = await self.fetchval("PRAGMA page_count", default=0)
        size = await self.fetchval("PRAGMA page_size", default=0)
        return int(pages) * int(size)

    async def get_state(self, key: str) -> str | None:
        """Read a value from the key-value state table."""
        value = await self.fetchval("SELECT value FROM state WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set_state(self, key: str, value: str, conn: aiosqlite.Connection | None = None) -> None:
        """Write a value to the key-value state table (inside ``conn``'s transaction when given)."""
        sql = "INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        if conn is not None:
            await conn.execute(sql, (key, value))
        else:
            await self.execute(sql, (key, value))


def _empty_file(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False  # no file yet: a new install


def damaged(path: str, detail: str) -> DatabaseError:
    """Say, in one line, that the database file is damaged and how to recover."""
    return DatabaseError(
        f"the database {path} is damaged ({' '.join(detail.split())[:200]}): stop Vestry, copy your last backup "
        f"(made with `vestry db backup`) over {path}, delete {path}-wal and {path}-shm beside it, and start again; "
        "the start-up catch-up polls what GitHub did since"
    )


def storage_error(path: str, exc: sqlite3.Error) -> DatabaseError | None:
    """Explain a failure of the disk or the file under the database; None when it is something else."""
    text = str(exc).lower()
    if any(word in text for word in ("malformed", "not a database", "corrupt")):
        return damaged(path, str(exc))
    if "full" in text:
        return DatabaseError(
            f"the disk holding the database {path} is full: free some space; nothing was half-written, and "
            "what could not be saved is retried"
        )
    if any(word in text for word in ("readonly", "read-only", "unable to open", "disk i/o")):
        folder = Path(path).resolve().parent
        return DatabaseError(
            f"the database {path} is read-only or cannot be reached ({exc}): Vestry must be able to write the file "
            f"and its folder {folder} (for the -wal and -shm files)"
        )
    return None


@contextmanager
def explained(path: str, owner: Database | None = None) -> Iterator[None]:
    """Turn a full disk, a read-only or a damaged file into a DatabaseError that says so (and log it once)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:  # OperationalError (full, read-only, I/O) and "malformed" alike
        clear = storage_error(path, exc)
        if clear is None:
            raise
        log.error("%s", clear)
        if owner is not None:
            owner.fault = str(clear)
        raise clear from exc


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no triggers with inner semicolons in our migrations)."""
    statements, current = [], []
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        current.append(line)
        if sqlite3.complete_statement("\n".join(current)):
            statements.append("\n".join(current))
            current = []
    if current:
        raise ValueError("migration ends in the middle of a statement")
    return statements
