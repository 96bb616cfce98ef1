"""queries: /profile, /rank, /leaderboard (week and all time) and the digest on a million ledger rows.

The service calls the slash commands make (``Recognition.profile``, ``Ladder.progress``,
``Leaderboard.board``, ``Digest.build``) run against a database built by ``benchmarks/dataset.py``: 1,000,000
ledger rows, 50,000 linked members, eight years of skewed activity. Each call is timed many times for members
drawn at random (seeded), on Vestry's database and the baseline's in turn (paired samples, alternating order, so
that the machine's noise falls on both alike); p50, p99 and the maximum are reported. The baseline is the same
code on a copy of the database built without the migrations added for these queries (``0007_query_indexes.sql``,
the indexes, and ``0008_contribution_totals.sql``, the per-person totals: its leaderboard counts all time from
the ledger, as it counts a week).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import dataset
from benchmarks.common import Measure, Report, median, percentile, ratio_of
from bot.clock import ManualClock
from bot.counting import VIEWS
from bot.db import Database, Migration, bundled_migrations
from bot.ledger import Ledger
from bot.sandbox.config import sandbox_settings
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.services.digest import Digest
from bot.services.ladder import Ladder
from bot.services.ladder.leaderboard import Leaderboard
from bot.services.recognition import MemberRef, Recognition

OURS = ("0007_query_indexes.sql", "0008_contribution_totals.sql")
TARGETS = {"profile": 20.0, "rank": 20.0, "leaderboard week": 50.0, "leaderboard all time": 50.0}


@dataclass
class Options:
    """Sizes of one queries run."""

    rows: int = 1_000_000
    members: int = 50_000
    samples: int = 300
    board_samples: int = 100  # the all-time leaderboard takes a quarter second a call
    digest_runs: int = 5
    rounds: int = 2  # samples of every round are pooled


def our_migrations() -> list[Migration]:
    """Return the migrations this benchmark measures (the baseline database is built without them)."""
    return [m for m in bundled_migrations() if m.name in OURS]


class Services:
    """The services the slash commands call, on one database."""

    def __init__(self, db: Database, settings: Any, clock: ManualClock, *, baseline: bool = False) -> None:
        self.ladder = Ladder(db, clock, settings)
        if baseline:
            self.ladder.leaderboard = Leaderboard(db, clock, totals=False)
        self.recognition = Recognition(db, clock, settings, ladder=self.ladder)
        ledger = Ledger(db, clock)
        self.digest = Digest(db, clock, settings, go_live=ledger.go_live)
        self.guild = settings.discord.guild_id


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def _calls(svc: Services) -> dict[str, Callable[[int], Awaitable[Any]]]:
    return {
        "profile": lambda m: svc.recognition.profile(svc.guild, MemberRef(m, "member"), m),
        "rank": lambda m: svc.ladder.progress(svc.guild, m),
        "leaderboard week": lambda m: svc.ladder.leaderboard.board(svc.guild, "merged_prs", "week", 0, m),
        "leaderboard all time": lambda m: svc.ladder.leaderboard.board(svc.guild, "merged_prs", "all", 0, m),
    }


async def _once_each(svc: Services, busiest: int, runs: int) -> dict[str, list[float]]:
    """Time the profile of the busiest maintainer, and the digest of the last finished period."""
    profile = _calls(svc)["profile"]
    period = svc.digest.period("last")
    await svc.digest.build(period)
    return {
        "profile of the busiest maintainer": [await _timed(lambda: profile(busiest)) for _ in range(3)],
        "digest": [await _timed(lambda: svc.digest.build(period)) for _ in range(runs)],
    }


async def measure(
    paths: tuple[Path, Path], settings: Any, members: list[int], opts: Options
) -> list[dict[str, list[float]]]:
    """Time every call on both databases, paired: each sample runs on one, then the other (the order alternates),
    so that the machine's slow moments fall on both alike. Return milliseconds per call name, per database."""
    clock = ManualClock(dataset.NOW)
    dbs = [Database(path) for path in paths]
    for db in dbs:
        await db.open()
    try:
        both = [_calls(Services(db, settings, clock, baseline=side == 1)) for side, db in enumerate(dbs)]
        rng = random.Random(7)
        picks = [members[rng.randrange(len(members))] for _ in range(opts.samples)]
        times: list[dict[str, list[float]]] = [{name: [] for name in both[0]} for _ in dbs]
        for name in both[0]:
            for calls in both:
                for member in picks[:5]:  # warm the caches, as a running bot's are
                    await calls[name](member)
            chosen = picks[: opts.board_samples] if name.startswith("leaderboard") else picks
            for index, member in enumerate(chosen):
                for side in (0, 1) if index % 2 else (1, 0):
                    call = both[side][name]
                    times[side][name].append(await _timed(lambda call=call, member=member: call(member)))
        for side, db in enumerate(dbs):
            svc = Services(db, settings, clock, baseline=side == 1)
            times[side] |= await _once_each(svc, members[0], opts.digest_runs)
        return times
    finally:
        for db in dbs:
            await db.close()


def baseline_migrations() -> list[Migration]:
    """The migrations before ours: a database's version only moves forward, so later ones cannot be left out."""
    first = min(m.version for m in our_migrations())
    return [m for m in bundled_migrations() if m.version < first]


async def prepare(folder: Path, opts: Options) -> tuple[Path, Path, Any, list[int]]:
    """Build the baseline database (the migrations before ours) and Vestry's (a copy, then the rest applied)."""
    emulator = DiscordEmulator(clock=ManualClock(dataset.NOW))  # never started: it only names the default world
    settings = sandbox_settings(emulator, "http://127.0.0.1:9", folder / "vestry.sqlite3")
    members = [10**17 + index for index in range(opts.members)]
    plain = folder / "baseline.sqlite3"
    await dataset.build(
        plain,
        now=dataset.NOW,
        guild_id=settings.discord.guild_id,
        discord_ids=members,
        shape=dataset.Shape(rows=opts.rows, members=opts.members),
        migrations=baseline_migrations(),
    )
    path = folder / "vestry.sqlite3"
    shutil.copyfile(plain, path)
    db = Database(path)
    await db.open()
    await db.migrate()
    await db.close()
    await asyncio.to_thread(_baseline_rule, plain)
    return path, plain, settings, members


def _baseline_rule(path: Path) -> None:
    """Give the baseline the counting rule's views (migration 0012) without 0012's rebuild of 0008's totals.

    Migrations after ours may build on them (0012 replaces 0008's triggers), so the baseline stops before ours and
    gets only what the measured code reads besides them: the ``is_org`` column and bot/counting.py's views.
    """
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE github_users ADD COLUMN is_org INTEGER NOT NULL DEFAULT 0")
        for sql in VIEWS.values():
            conn.execute(sql)
        conn.commit()


async def run(opts: Options | None = None) -> Report:
    """Run the queries benchmark."""
    opts = opts or Options()
    report = Report("queries", params=opts.__dict__.copy())
    with tempfile.TemporaryDirectory(prefix="vestry-bench-queries-") as folder:
        path, plain, settings, members = await prepare(Path(folder), opts)
        report.params["ledger_rows"] = dataset.ledger_rows(path)
        report.params["baseline"] = f"the same data without {', '.join(m.name for m in our_migrations())}"
        ours: dict[str, list[float]] = {}
        base: dict[str, list[float]] = {}
        for _ in range(opts.rounds):
            mine, theirs = await measure((path, plain), settings, members, opts)
            for pooled, found in ((ours, mine), (base, theirs)):
                for name, times in found.items():
                    pooled.setdefault(name, []).extend(times)
    report.raw = {"vestry": ours, "baseline": base}
    for name in ("profile", "rank", "leaderboard week", "leaderboard all time"):
        p99, base_p99 = percentile(ours[name], 99), percentile(base[name], 99)
        report.add(
            Measure(
                f"{name} p99",
                "ms",
                p99,
                base_p99,
                target=f"≤ {TARGETS[name]:g} ms",
                met=p99 <= TARGETS[name],
                ratio=ratio_of(base_p99, p99),
                ratio_label="faster",
                note=f"p50 {median(ours[name]):.1f} ms (baseline {median(base[name]):.1f}), max {max(ours[name]):.1f}",
            )
        )
    busiest = "profile of the busiest maintainer"
    report.add(
        Measure(
            busiest,
            "ms",
            ours[busiest][0],
            base[busiest][0],
            ratio=ratio_of(base[busiest][0], ours[busiest][0]),
            ratio_label="faster",
        )
    )
    digest, base_digest = median(ours["digest"]), median(base["digest"])
    report.add(
        Measure(
            "digest computation (median)",
            "ms",
            digest,
            base_digest,
            target="≤ 1,000 ms",
            met=digest <= 1000,
            ratio=ratio_of(base_digest, digest),
            ratio_label="faster",
        )
    )
    return report
