"""hall-of-fame: the public page's server time with 50,000 contributors, beside the page computed from the ledger.

A database from ``benchmarks/dataset.py`` (1,000,000 ledger rows, 60,000 GitHub accounts, 50,000 linked members
with tiers, kudos and recognitions) is served by the bot's real web server (aiohttp, Jinja2) on localhost.
Requests of every kind the page gets (pages 1 to the last, each sort, tier/kind filters, person pages, the JSON
API, the badge) are drawn at random (seeded) and timed from request to last byte, which bounds the server time
from above. The baseline is the same first page's data computed from the ledger at each request (the grouped
query over pull requests, reviews and issues that the ``hall_of_fame`` table of migration 0014 replaces), data
only, no rendering. The full rebuild of the table, which runs after the ledger changed (at most once a minute by
default), is timed too.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp

from benchmarks import dataset
from benchmarks.common import Measure, Report, median, percentile, ratio_of
from bot.clock import ManualClock
from bot.config.models import HallOfFameSettings
from bot.db import Database
from bot.sandbox.config import sandbox_settings
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.services.halloffame import HallOfFame
from bot.services.halloffame.build import FACTS
from bot.services.halloffame.rules import shown_accounts_sql
from bot.web import Metrics, WebServer
from bot.web.hof import HallOfFameSite

TARGET_MS = 50.0
BASELINE_PAGE = f"""
SELECT f.github_id, u.login, MIN(f.at) AS first_at, COUNT(*) AS total,
       SUM(f.cat = 'merged_prs'), SUM(f.cat = 'reviews'), SUM(f.cat = 'issues_closed'), SUM(f.cat = 'merges')
FROM ({FACTS}) AS f JOIN github_users u ON u.id = f.github_id AND {shown_accounts_sql("u")}
GROUP BY f.github_id ORDER BY total DESC, lower(u.login) LIMIT 48
"""


@dataclass
class Options:
    """Sizes of one hall-of-fame run."""

    rows: int = 1_000_000
    members: int = 50_000
    samples: int = 600
    baseline_samples: int = 5
    seed: int = 5


def paths(rng: random.Random, pages: int, tiers: list[str]) -> list[str]:
    """Draw the mix of requests a public page gets."""
    kinds = ("code", "review", "doc", "talk", "design")
    draws = [
        lambda: f"/?page={rng.randint(1, pages)}&sort={rng.choice(['count', 'first', 'newest', 'name'])}",
        lambda: "/",
        lambda: f"/?tier={rng.choice(tiers)}&page={rng.randint(1, 20)}",
        lambda: f"/?kind={rng.choice(kinds)}&sort=first",
        lambda: f"/people/user{1 + int(rng.random() ** 2 * 60_000)}",
        lambda: f"/api/contributors?page={rng.randint(1, pages)}&per_page=100",
        lambda: "/badge/contributors.svg",
    ]
    return [rng.choice(draws)() for _ in range(20_000)]


async def timed_requests(base: str, wanted: list[str], count: int) -> tuple[list[float], dict[int, int]]:
    """Time ``count`` requests (after a warm-up); return milliseconds and the statuses seen."""
    times: list[float] = []
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession() as session:
        for index, path in enumerate(wanted[: count + 20]):
            started = time.perf_counter()
            async with session.get(base + path) as response:
                await response.read()
            elapsed = (time.perf_counter() - started) * 1000
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if index >= 20:
                times.append(elapsed)
    return times, statuses


async def baseline_times(db: Database, samples: int) -> list[float]:
    """Time the first page's data computed from the ledger, as a page without the table would."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        await db.fetchall(BASELINE_PAGE)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def run(opts: Options | None = None) -> Report:
    """Run the hall-of-fame benchmark."""
    opts = opts or Options()
    report = Report("hall-of-fame", params=opts.__dict__.copy())
    with tempfile.TemporaryDirectory(prefix="vestry-bench-hof-") as folder:
        emulator = DiscordEmulator(clock=ManualClock(dataset.NOW))  # never started: it only names the default world
        settings = sandbox_settings(emulator, "http://127.0.0.1:9", Path(folder) / "vestry.sqlite3")
        path = Path(folder) / "vestry.sqlite3"
        await dataset.build(
            path,
            now=dataset.NOW,
            guild_id=settings.discord.guild_id,
            shape=dataset.Shape(rows=opts.rows, members=opts.members),
        )
        report.params["ledger_rows"] = dataset.ledger_rows(path)
        db = Database(path)
        await db.open()
        tiers = [tier.name for tier in settings.ladder.tiers]
        hall = HallOfFame(
            db,
            ManualClock(dataset.NOW),
            guild_id=settings.discord.guild_id,
            repositories=settings.github.repositories,
            tiers=tiers,
            refresh_every=timedelta(hours=1),
        )
        server = WebServer(db, Metrics(), site=HallOfFameSite(hall, HallOfFameSettings(), "https://github.com"))
        try:
            started = time.perf_counter()
            await hall.refresh()
            rebuild_ms = (time.perf_counter() - started) * 1000
            report.params["contributors"] = hall.contributors
            base = await server.start("127.0.0.1", 0)
            pages = max(1, hall.contributors // 48)
            ours, statuses = await timed_requests(base, paths(random.Random(opts.seed), pages, tiers), opts.samples)
            theirs = await baseline_times(db, opts.baseline_samples)
        finally:
            await server.stop()
            await db.close()
    report.raw = {"vestry": ours, "baseline": theirs, "statuses": statuses, "rebuild_ms": rebuild_ms}
    add_measures(report, ours, theirs, rebuild_ms, statuses)
    return report


def add_measures(
    report: Report, ours: list[float], theirs: list[float], rebuild_ms: float, statuses: dict[int, int]
) -> None:
    """Add the figures: request time p99 against the target, the baseline's page data, the rebuild."""
    p99, base_p99 = percentile(ours, 99), percentile(theirs, 99)
    report.add(
        Measure(
            "page request p99",
            "ms",
            p99,
            base_p99,
            target=f"≤ {TARGET_MS:g} ms",
            met=p99 <= TARGET_MS,
            ratio=ratio_of(base_p99, p99),
            ratio_label="faster",
            note=f"p50 {median(ours):.1f} ms, max {max(ours):.1f} ms over {len(ours)} requests; "
            f"baseline p50 {median(theirs):.0f} ms (data only)",
        )
    )
    report.add(Measure("full rebuild of the table", "ms", rebuild_ms, note="after a ledger change, in the background"))
    report.notes.append(f"statuses: {statuses}")
