"""burst: 500 first-time merges in one minute, posted at the rate Discord allows one channel.

The sandbox runs the real bot in webhook mode with Discord's rate limits on (a channel takes 5 messages per 5 s;
discord.py reads the bucket headers and waits when a bucket is empty). ``merges`` newcomers each have a pull
request open; they are merged evenly over ``seconds`` through the GitHub emulator, each delivered as a signed
webhook. Halfway through, a maintainer runs ``/digest post`` and links a member with ``/vestry link`` (which
grants the Follower role). Measured: the time from the first merge to the last kudos post (every newcomer named
once), how many posts that took, how long the digest and the role waited behind the burst, and how many requests
Discord refused with 429. Baseline, same run: the same burst with the kudos channel's hold-and-combine switched
off (``bot/services/recognition/backlog.py``), as before it existed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from benchmarks.common import Measure, Report
from bot.sandbox.client import running_sandbox
from bot.services.recognition import backlog

POLL = 0.05


@dataclass
class Options:
    """Sizes of one burst run."""

    merges: int = 500
    seconds: float = 60.0
    timeout: float = 900.0  # give up waiting for the last post after this long
    baseline: bool = True  # also run the burst the old way (no holding): one post per batch decided


def _channel_limits(box: Any) -> str:
    """Say which limits the Discord emulator enforces (the benchmark runs it with Discord's real windows)."""
    return f"the emulator's per-route buckets and global limit, --rate-limits {box.discord.rest.limiter.mode}"


def _texts(box: Any, channel: str) -> list[str]:
    """Return the text (content and embeds) of every message in a channel, oldest first."""
    world = box.discord.world
    ids = world.channel_messages.get(world.channel(channel).id, [])
    return [world.messages[i].content + json.dumps(world.messages[i].embeds) for i in ids]


async def _wait(predicate: Any, timeout: float) -> float | None:
    """Poll ``predicate`` until true; return the time it became true, None on timeout."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return time.perf_counter()
        await asyncio.sleep(POLL)
    return None


async def _midway(client: Any, box: Any, started: float, opts: Options) -> dict[str, Any]:
    """Post the digest and link a member while the burst runs; time how long each waits."""
    await asyncio.sleep(opts.seconds / 2)
    digests = len(_texts(box, "digest"))
    asked = time.perf_counter()
    await client.command("owner", "digest post")
    member = await client.add_member("latecomer")
    await client.user("latecomer-gh")
    linked_at = time.perf_counter()
    await client.command("owner", "vestry link", member="latecomer", github="latecomer-gh")
    world = box.discord.world
    follower = world.role("Follower").id
    digest_seen = await _wait(lambda: len(_texts(box, "digest")) > digests, opts.timeout)
    role_seen = await _wait(lambda: follower in world.members[int(member)].roles, opts.timeout)
    return {
        "asked_at": asked - started,
        "digest_delay": None if digest_seen is None else digest_seen - asked,
        "role_delay": None if role_seen is None else role_seen - linked_at,
    }


@contextmanager
def _holding(on: bool) -> Iterator[None]:
    """Run with the kudos channel's hold-and-combine on, or off (the old way: one post per batch decided)."""
    saved = backlog.CHANNEL_POSTS, backlog.BACKED_UP_AGE
    if not on:
        backlog.CHANNEL_POSTS, backlog.BACKED_UP_AGE = 10**9, timedelta(days=365)
    try:
        yield
    finally:
        backlog.CHANNEL_POSTS, backlog.BACKED_UP_AGE = saved


async def _burst(opts: Options) -> dict[str, Any]:
    """Run one burst in a fresh sandbox; return what it measured."""
    # Refusals are counted (a 429 would mean a post sent into an exhausted bucket), not raised.
    async with running_sandbox(expect_rejections=True, rate_limits="real") as client:
        box = client.sandbox
        limits = _channel_limits(box)
        logins = [f"newcomer{index:04d}" for index in range(opts.merges)]
        numbers = []
        for login in logins:
            await client.user(login)
            numbers.append(await client.pull(login, title=f"First fix by {login}"))
        await client.settle()
        before = len(_texts(box, "kudos"))
        started = time.perf_counter()
        side = asyncio.create_task(_midway(client, box, started, opts))
        for index, number in enumerate(numbers):
            await asyncio.sleep(max(0.0, started + index * opts.seconds / opts.merges - time.perf_counter()))
            await box.github.merge_pull("sandbox/project", number, "maintainer")
        merged = time.perf_counter() - started

        def all_named() -> bool:
            text = "\n".join(_texts(box, "kudos")[before:])
            return all(login in text for login in logins)

        last = await _wait(all_named, opts.timeout)
        midway = await side
        posts = _texts(box, "kudos")[before:]
        refused = await client.get("/discord/rejections")
    return {
        "last": None if last is None else last - started,
        "posts": len(posts),
        "named_twice": sum(1 for login in logins if sum(login in text for text in posts) > 1),
        "merged_in": merged,
        "midway": midway,
        "limits": limits,
        "limited": sum(1 for item in refused if item["status"] == 429),
        "refused": len(refused),
    }


async def run(opts: Options | None = None) -> Report:
    """Run the burst benchmark: with holding on, then (as the baseline) off."""
    opts = opts or Options()
    report = Report("burst", params=opts.__dict__.copy())
    with _holding(True):
        vestry = await _burst(opts)
    base = None
    if opts.baseline:
        with _holding(False):
            base = await _burst(opts)
    report.raw = {"vestry": vestry, "baseline": base}
    _measures(report, opts, vestry, base)
    report.notes.append(
        f"rate limits: {vestry['limits']}; {opts.merges} merges sent in {vestry['merged_in']:.1f} s; "
        f"{vestry['refused']} refusals in all"
    )
    return report


def _measures(report: Report, opts: Options, run: dict[str, Any], base: dict[str, Any] | None) -> None:
    last, midway = run["last"], run["midway"]
    report.add(
        Measure(
            f"first merge → last kudos post, {opts.merges} merges in {opts.seconds:.0f} s",
            "s",
            last,
            baseline=None if base is None else base["last"],
            target="≤ 120 s",
            met=last is not None and last <= 120,
            note=f"{run['posts']} posts (baseline {base['posts'] if base else '—'}); "
            f"newcomers named more than once: {run['named_twice']}",
        )
    )
    for key, name in (("digest_delay", "/digest post → digest posted"), ("role_delay", "/vestry link → role given")):
        delay = midway[key]
        report.add(
            Measure(
                f"{name}, asked {midway['asked_at']:.0f} s into the burst",
                "s",
                delay,
                baseline=None if base is None else base["midway"][key],
                target="not delayed by the burst",
                met=None if delay is None else delay <= 10,
            )
        )
    name = "requests refused with 429 (sent into an exhausted bucket)"
    report.add(
        Measure(
            name,
            "",
            run["limited"],
            baseline=None if base is None else base["limited"],
            target="0",
            met=not run["limited"],
        )
    )
