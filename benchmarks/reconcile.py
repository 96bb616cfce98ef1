"""reconcile: the hourly role reconcile of 50,000 linked members, over the gateway, against reading each over REST.

The sandbox runs the real bot on a database built like the ``queries`` one (``rows`` ledger rows, ``members``
linked members who are all in the emulator's guild, with the roles the ladder granted them). Two runs of the
ladder's reconcile, as the hourly job runs it (op 8 REQUEST_GUILD_MEMBERS by id, 100 a request, paced at 100
requests per ``pace`` seconds — Discord allows 120 per 60 s): one with nothing to change, one after ``drift`` of
the members lost a ladder role (the reconcile must put back exactly those). Counted from the emulator: gateway
commands (op 8), REST requests, and outbox rows queued.

Baseline, same run: the old way, one ``GET /guilds/{guild}/members/{user}`` per linked member, timed over
``baseline_members`` members (one after another, as the old reconcile read them) under whatever limits the
emulator enforces, and scaled to ``members``. At Discord's global limit of 50 requests a second, 50,000 reads
cannot take less than 1,000 s, whatever the client does.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from benchmarks import dataset
from benchmarks.common import Measure, Report
from bot.discord.members import GatewayMembers, GatewayPacer
from bot.sandbox.runner import Sandbox

GLOBAL_PER_SECOND = 50  # Discord's global limit for a bot


@dataclass
class Options:
    """Sizes of one reconcile run."""

    rows: int = 200_000
    members: int = 50_000
    drift: float = 0.05
    baseline_members: int = 2_000
    pace: float = 60.0  # seconds per 100 gateway requests; Discord's window is 60 s


def _rest_reads(box: Sandbox) -> tuple[int, int]:
    """Return (GET requests, all requests) the Discord emulator has answered so far."""
    counts = box.discord.request_counts()
    gets = sum(v["requests"] for k, v in counts.items() if k.startswith("GET "))
    return gets, sum(v["requests"] for v in counts.values())


async def _outbox_roles(box: Sandbox, after: int) -> list[int]:
    rows = await box.services.db.fetchall(
        "SELECT payload FROM outbox WHERE id > ? AND kind IN ('role_add', 'role_remove')", (after,)
    )
    return sorted(int(json.loads(row["payload"])["user_id"]) for row in rows)


async def _gateway_pass(box: Sandbox, pacer: GatewayPacer) -> dict[str, Any]:
    """Run the ladder's reconcile over the gateway once; return what it cost and did."""
    services = box.services
    assert box.app is not None
    directory = GatewayMembers(box.app.bot, services.settings.discord.guild_id, pacer)
    waited = pacer.waited
    gateway = box.discord.gateway
    ops, (gets, requests) = gateway.commands.counts[8], _rest_reads(box)
    last_row = int(await services.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM outbox", default=0))
    started = time.perf_counter()
    report = await services.features.ladder.reconcile(directory)
    seconds = time.perf_counter() - started
    after_gets, after_requests = _rest_reads(box)
    return {
        "seconds": seconds,
        "op8": gateway.commands.counts[8] - ops,
        "rest_gets": after_gets - gets,
        "rest_requests": after_requests - requests,
        "role_rows": await _outbox_roles(box, last_row),
        "paced_wait": round(pacer.waited - waited, 1),
        "checked": report.checked,
        "absent": report.absent,
        "failed": report.failed,
        "added": report.added,
        "removed": report.removed,
        "placed": report.placed,
        "closed_4008": gateway.commands.closed_for_rate,
    }


async def _on_the_ladder(box: Sandbox) -> set[int]:
    """Return the linked members whose GitHub account counts (not a bot, not ignored)."""
    rows = await box.services.db.fetchall(
        "SELECT l.discord_id FROM links l JOIN github_users g ON g.id = l.github_id "
        "WHERE g.is_bot = 0 AND g.ignored = 0"
    )
    return {int(row[0]) for row in rows}


async def _rest_baseline(box: Sandbox, ids: list[int]) -> dict[str, Any]:
    """Read members one by one over REST, as the reconcile did before; return the time it took."""
    assert box.app is not None
    bot: discord.Client = box.app.bot
    guild = box.services.settings.discord.guild_id
    gets, _ = _rest_reads(box)
    started = time.perf_counter()
    for member in ids:
        await bot.http.get_member(guild, member)
    seconds = time.perf_counter() - started
    return {"members": len(ids), "seconds": seconds, "rest_gets": _rest_reads(box)[0] - gets}


async def _prepare(box: Sandbox, folder: Path, opts: Options) -> list[int]:
    """Fill the guild and the database before the bot starts; return the linked members' ids."""
    names = [f"member{index:05d}" for index in range(opts.members)]
    await box.discord.add_members_bulk(names)
    ids = [box.discord.member_id(name) for name in names]
    path = folder / "vestry.sqlite3"
    await dataset.build(
        path,
        now=box.clock.now(),
        guild_id=box.discord.guild_id,
        discord_ids=ids,
        shape=dataset.Shape(rows=opts.rows, members=len(ids)),
    )
    for member, tier in dataset.granted(path):
        await box.discord.add_role(member, tier)  # Discord agrees with Vestry's record, as in a steady state
    return ids


async def run(opts: Options | None = None) -> Report:
    """Run the reconcile benchmark."""
    opts = opts or Options()
    report = Report("reconcile", params=opts.__dict__.copy())
    folder = Path(tempfile.mkdtemp(prefix="vestry-bench-reconcile-"))
    try:
        box = Sandbox(workdir=str(folder))
        ids = await _prepare(box, folder, opts)
        await box.start()
        try:
            await box.settle()
            pacer = GatewayPacer(per=opts.pace)  # one for the bot's connection, as the ladder cog keeps one
            steady = await _gateway_pass(box, pacer)
            drifted = sorted(random.Random(23).sample(ids, int(len(ids) * opts.drift)))
            for member in drifted:
                await box.discord.remove_role(member, "Follower")
            drift = await _gateway_pass(box, pacer)
            listed = await _on_the_ladder(box)
            baseline = await _rest_baseline(box, ids[: opts.baseline_members])
        finally:
            await box.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # Members linked to a bot account are never on the ladder: their lost role is not Vestry's to give back.
    expected = [member for member in drifted if member in listed]
    drift["expected"] = len(expected)
    drift["repaired_exactly_the_drifted"] = drift["role_rows"] == expected
    steady["role_rows"], drift["role_rows"] = len(steady["role_rows"]), len(drift["role_rows"])
    report.raw = {"steady": steady, "drift": drift, "baseline": baseline, "drifted": len(drifted)}
    _measures(report, opts, steady, drift, baseline, len(drifted))
    return report


def _measures(
    report: Report, opts: Options, steady: dict[str, Any], drift: dict[str, Any], base: dict[str, Any], drifted: int
) -> None:
    members = opts.members
    per_read = base["seconds"] / max(1, base["members"])
    scaled = per_read * members
    floor = members / GLOBAL_PER_SECOND
    report.add(
        Measure(
            f"gateway commands, {members:,} members, nothing to change",
            "",
            steady["op8"],
            baseline=members,
            target="≤ 600",
            met=steady["op8"] <= 600,
            note="baseline: REST reads",
        )
    )
    report.add(
        Measure("REST reads, nothing to change", "", steady["rest_gets"], target="0", met=steady["rest_gets"] == 0)
    )
    report.add(
        Measure(
            "reconcile time, nothing to change",
            "s",
            steady["seconds"],
            baseline=max(scaled, floor),
            target="≤ 600 s",
            met=steady["seconds"] <= 600,
            note=f"baseline: {base['members']:,} REST reads took {base['seconds']:.1f} s, scaled; never under "
            f"{floor:,.0f} s at {GLOBAL_PER_SECOND}/s",
        )
    )
    report.add(
        Measure(
            f"reconcile time, {opts.drift:.0%} to change ({drifted:,} roles)",
            "s",
            drift["seconds"],
            target="≤ 600 s",
            met=drift["seconds"] <= 600,
            note=f"{drift['op8']} gateway commands, {drift['rest_gets']} REST reads, {drift['role_rows']} role changes "
            f"queued for the {drift['expected']} drifted members on the ladder, exactly those: "
            f"{drift['repaired_exactly_the_drifted']}",
        )
    )
    report.notes.append(
        f"nothing to change: {steady['checked']:,} checked, {steady['absent']} absent, {steady['failed']} failed, "
        f"{steady['role_rows']} role changes queued, {steady['paced_wait']} s waiting for the gateway window; "
        f"connections closed for rate (4008): {drift['closed_4008']}"
    )
