"""latency: from a merge made through the control API to the kudos message stored by the Discord emulator.

The sandbox runs the real bot in webhook mode (the emulators' rate limits are off, as by default). ``merges``
newcomers each open a pull request (delivered as a webhook; the bot is then let settle), then the pull requests
are merged one at a time through ``POST /github/pulls/.../merge``: the clock starts before that request and stops
when the emulator has stored the first-PR kudos post naming the author (checked every millisecond in process).
One merge at a time, so the kudos engine's burst-combining never merges two celebrations into one post.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.common import Measure, Report, percentile
from bot.sandbox.client import running_sandbox as sandbox

POLL = 0.001
TIMEOUT = 10.0


@dataclass
class Options:
    """Sizes of one latency run."""

    merges: int = 1_000


def _kudos(box: Any) -> list[int]:
    world = box.discord.world
    return world.channel_messages.get(world.channel("kudos").id, [])


async def _wait_post(box: Any, before: int, login: str) -> tuple[float, bool]:
    """Wait for a new kudos post; return when it was seen and whether it names ``login``."""
    deadline = time.perf_counter() + TIMEOUT
    while time.perf_counter() < deadline:
        posts = _kudos(box)
        if len(posts) > before:
            seen = time.perf_counter()
            message = box.discord.world.messages[posts[before]]
            text = message.content + json.dumps(message.embeds)
            return seen, login in text
        await asyncio.sleep(POLL)
    raise TimeoutError(f"no kudos post for {login} within {TIMEOUT} s")


async def run(opts: Options | None = None) -> Report:
    """Run the latency benchmark."""
    opts = opts or Options()
    report = Report("latency", params=opts.__dict__.copy())
    latencies: list[float] = []
    wrong = 0
    async with sandbox() as client:
        box = client.sandbox
        numbers = []
        for index in range(opts.merges):
            login = f"newcomer{index:04d}"
            await client.user(login)
            numbers.append((login, await client.pull(login, title=f"Fix typo {index}")))
        await client.settle()
        started = time.perf_counter()
        for login, number in numbers:
            before = len(_kudos(box))
            sent = time.perf_counter()
            await client.merge(number)
            seen, named = await _wait_post(box, before, login)
            latencies.append((seen - sent) * 1000)
            wrong += not named
        wall = time.perf_counter() - started
        await client.settle()
        posts = len(_kudos(box))
    report.raw = {"latencies_ms": latencies}
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    report.add(Measure("merge → kudos post, p50", "ms", p50, target="≤ 50 ms", met=p50 <= 50))
    report.add(Measure("merge → kudos post, p99", "ms", p99, target="≤ 250 ms", met=p99 <= 250))
    report.add(Measure("merge → kudos post, max", "ms", max(latencies)))
    report.notes.append(
        f"{opts.merges} merges one after another in {wall:.1f} s; {posts} kudos posts in all"
        + (f"; {wrong} posts did not name the expected author" if wrong else ", each naming its author")
    )
    return report
