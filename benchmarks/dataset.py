"""A large community's database: a million ledger rows and 50,000 linked members, built straight into SQLite.

The shape follows real projects: contributions are skewed (a few maintainers do a large share, most people a
little), spread over eight years up to ``now``; most linked members have contributed something. The database is
created with Vestry's own migrations, then filled with plain SQL in a worker thread (minutes of Python objects
would only measure the builder).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.db import Database, Migration

YEARS = 8
REPO = "sandbox/project"
REVIEW_STATES = ("APPROVED", "APPROVED", "COMMENTED", "CHANGES_REQUESTED", "DISMISSED")
RECOGNITION_KINDS = ("docs", "design", "support", "talk", "triage")
GRANTS = {
    "Priest in training": "p.state = 'merged' AND p.author_id = l.github_id",
    "Priest": "p.state = 'merged' AND p.merged_by_id = l.github_id AND p.author_id != l.github_id",
}


@dataclass(frozen=True)
class Shape:
    """How many of each thing; ``rows`` counts the ledger tables (pull requests, reviews, issues, stars)."""

    rows: int = 1_000_000
    members: int = 50_000
    unlinked: int = 10_000
    seed: int = 11

    @property
    def pulls(self) -> int:
        """Pull requests (90% merged)."""
        return self.rows * 40 // 100

    @property
    def reviews(self) -> int:
        """Reviews."""
        return self.rows * 40 // 100

    @property
    def issues(self) -> int:
        """Issues (most closed)."""
        return self.rows * 15 // 100

    @property
    def stars(self) -> int:
        """Stars (at most one per account)."""
        return min(self.rows - self.pulls - self.reviews - self.issues, self.members + self.unlinked)


def _t(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Maker:
    """Draw people and times with the skew of a real project."""

    def __init__(self, shape: Shape, now: datetime) -> None:
        self.rng = random.Random(shape.seed)
        self.people = shape.members + shape.unlinked
        self.now = now
        self.span = timedelta(days=365 * YEARS).total_seconds()

    def person(self) -> int:
        """A GitHub id, low ids far more active (about a fifth of everything comes from the top 1%)."""
        return 1 + int(self.people * self.rng.random() ** 3)

    def maintainer(self) -> int:
        """One of the twenty people who merge."""
        return 1 + int(20 * self.rng.random() ** 2)

    def when(self) -> datetime:
        """A moment in the last eight years, uniformly."""
        return self.now - timedelta(seconds=self.rng.random() * self.span)


def _users(db: sqlite3.Connection, shape: Shape, now: str) -> None:
    rows = []
    for github_id in range(1, shape.members + shape.unlinked + 1):
        bot = github_id % 211 == 0
        login = f"bot{github_id}[bot]" if bot else f"user{github_id}"
        rows.append((github_id, login, int(bot), 0, None, now))
    db.executemany(
        "INSERT INTO github_users(id, login, is_bot, ignored, avatar_url, updated_at) VALUES (?,?,?,?,?,?)", rows
    )


def _pulls(db: sqlite3.Connection, shape: Shape, make: _Maker) -> list[tuple[int, str, int]]:
    rows, merged = [], []
    for number in range(1, shape.pulls + 1):
        author, created = make.person(), make.when()
        roll = make.rng.random()
        state = "merged" if roll < 0.9 else ("closed" if roll < 0.975 else "open")
        done = min(created + timedelta(hours=make.rng.expovariate(1 / 30)), make.now)
        merger = make.maintainer() if state == "merged" else None
        rows.append(
            (
                REPO, number, f"Change {number}", f"https://github.com/{REPO}/pull/{number}", author, state,
                0, "[]", _t(created), _t(done), _t(done) if state == "merged" else None, merger,
                None if state == "open" else _t(done), 1,
            )
        )  # fmt: skip
        if state != "open":
            merged.append((number, _t(done), author))
    db.executemany(
        "INSERT INTO pull_requests(repo, number, title, url, author_id, state, draft, labels, created_at, updated_at, "
        "merged_at, merged_by_id, closed_at, historical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    return merged


def _reviews(db: sqlite3.Connection, shape: Shape, make: _Maker, pulls: list[tuple[int, str, int]]) -> None:
    rows = []
    for review_id in range(1, shape.reviews + 1):
        number, done, author = pulls[make.rng.randrange(len(pulls))]
        reviewer = make.person()
        if reviewer == author:
            reviewer = make.maintainer()
        state = REVIEW_STATES[make.rng.randrange(len(REVIEW_STATES))] if review_id % 50 else "DISMISSED"
        rows.append((review_id, REPO, number, reviewer, state, done, 1))
    db.executemany(
        "INSERT INTO reviews(id, repo, number, reviewer_id, state, submitted_at, historical) VALUES (?,?,?,?,?,?,?)",
        rows,
    )


def _issues_and_stars(db: sqlite3.Connection, shape: Shape, make: _Maker) -> None:
    rows = []
    for number in range(shape.pulls + 1, shape.pulls + shape.issues + 1):
        created = make.when()
        closed = make.rng.random() < 0.85
        closer = make.person() if closed else None
        when = _t(min(created + timedelta(days=make.rng.expovariate(1 / 20)), make.now)) if closed else None
        labels = json.dumps(["good first issue"]) if not closed and number % 9 == 0 else "[]"
        rows.append(
            (REPO, number, f"Issue {number}", f"https://github.com/{REPO}/issues/{number}", make.person(),
             "closed" if closed else "open", labels, _t(created), when, closer, "completed" if closed else None, 1)
        )  # fmt: skip
    db.executemany(
        "INSERT INTO issues(repo, number, title, url, author_id, state, labels, created_at, closed_at, closed_by_id, "
        "state_reason, historical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    people = list(range(1, shape.members + shape.unlinked + 1))
    make.rng.shuffle(people)
    db.executemany(
        "INSERT INTO stars(repo, user_id, starred_at, historical) VALUES (?,?,?,1)",
        [(REPO, user, _t(make.when())) for user in people[: shape.stars]],
    )


def _members(db: sqlite3.Connection, shape: Shape, make: _Maker, guild: int, discord_ids: list[int]) -> None:
    now = make.now
    db.executemany(
        "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) VALUES (?,?,?,?,?,?)",
        [
            (guild, discord_id, index + 1, f"user{index + 1}", "device", _t(now - timedelta(days=index % 700)))
            for index, discord_id in enumerate(discord_ids)
        ],
    )
    recent = timedelta(days=730).total_seconds()

    def member() -> int:
        return discord_ids[int(len(discord_ids) * make.rng.random() ** 2)]

    kudos = [
        (guild, member(), member(), "thanks", _t(now - timedelta(seconds=make.rng.random() * recent)))
        for _ in range(shape.members)
    ]
    db.executemany("INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, reason, at) VALUES (?,?,?,?,?)", kudos)
    recognitions = [
        (guild, member(), RECOGNITION_KINDS[i % 5], f"https://example.org/{i}", discord_ids[0], _t(make.when()))
        for i in range(shape.members // 10)
    ]
    db.executemany(
        "INSERT INTO recognitions(guild_id, member_id, kind, link, by_id, at) VALUES (?,?,?,?,?,?)", recognitions
    )
    # The sandbox's ladder, as the reconcile would leave it: linked; ≥ 1 merged PR; merged someone else's PR.
    db.execute(
        "INSERT INTO tier_grants(guild_id, discord_id, tier, granted_at) SELECT guild_id, discord_id, 'Follower', "
        "linked_at FROM links"
    )
    for tier, condition in GRANTS.items():
        db.execute(
            "INSERT INTO tier_grants(guild_id, discord_id, tier, granted_at) SELECT l.guild_id, l.discord_id, ?, "
            f"l.linked_at FROM links l WHERE EXISTS (SELECT 1 FROM pull_requests p WHERE {condition})",
            (tier,),
        )


def _fill(path: Path, shape: Shape, now: datetime, guild: int, discord_ids: list[int]) -> None:
    make = _Maker(shape, now)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        _users(db, shape, _t(now))
        pulls = _pulls(db, shape, make)
        _reviews(db, shape, make, pulls)
        _issues_and_stars(db, shape, make)
        _members(db, shape, make, guild, discord_ids)
        db.execute("INSERT INTO state(key, value) VALUES ('go_live', ?)", (_t(now - timedelta(days=365 * YEARS)),))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def build(
    path: Path,
    *,
    now: datetime,
    guild_id: int,
    discord_ids: list[int] | None = None,
    shape: Shape | None = None,
    migrations: list[Migration] | None = None,
) -> Shape:
    """Create a migrated database at ``path`` and fill it; ``discord_ids`` are the linked members (made up if None)."""
    shape = shape or Shape()
    ids = discord_ids if discord_ids is not None else [10**17 + i for i in range(shape.members)]
    shape = Shape(shape.rows, len(ids), shape.unlinked, shape.seed)
    db = Database(path)
    await db.open()
    await db.migrate(migrations)
    await db.close()
    await asyncio.to_thread(_fill, path, shape, now, guild_id, ids)
    return shape


def granted(path: Path) -> list[tuple[int, str]]:
    """Return every (member, tier) the database says was granted."""
    db = sqlite3.connect(path)
    try:
        return [(int(row[0]), str(row[1])) for row in db.execute("SELECT discord_id, tier FROM tier_grants")]
    finally:
        db.close()


def ledger_rows(path: Path) -> int:
    """Count the rows of the ledger tables."""
    db = sqlite3.connect(path)
    try:
        tables = ("pull_requests", "reviews", "issues", "stars")
        return sum(int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]) for table in tables)
    finally:
        db.close()


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
