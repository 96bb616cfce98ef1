"""Outbox lanes (issue 18, item 1): a 503 storm on one channel for an hour of sandbox time holds no other lane,
the stuck post ends as a dead letter (in /vestry outbox, /vestry status and /metrics) that a maintainer retries,
and a wall clock set back a day delays no retry.

Both tests fail on the main branch before lanes (checked by running them against it): the dispatcher there always
takes the oldest undone row, so the storm held every role grant, DM and #digest post behind the #kudos post, and a
back-off stored as wall-clock time waited out the day the clock was set back.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

from tests.reliability import checks
from tests.reliability.test_discord_faults import file_query, settle_through_backoff
from tests.reliability.test_operations import base_url, get, parse_prometheus

STEP = 60.0  # seconds of sandbox time between looks: the retry interval other lanes are measured against
HOUR = 3600
LONGEST_BACKOFF = 300.0  # the dispatcher's longest wait between two tries
_DAY = timedelta(days=1)


def query(sb: Any) -> checks.Query:
    return file_query(sb.sandbox.workdir / "vestry.sqlite3")


# The rows of the failing channel's lane: posts in it, and edits of those posts.
IN_CHANNEL = (
    "(IFNULL(json_extract(payload, '$.channel_id'), 0) = ? OR IFNULL(json_extract(payload, '$.target_key'), '') IN "
    "(SELECT dedupe_key FROM outbox WHERE json_extract(payload, '$.channel_id') = ?))"
)


async def wait_for_lanes_except(sb: Any, channel: int, guard: float = 20.0) -> int:
    """Wait (wall time, a guard only) until every lane but ``channel``'s is empty; return what still waits."""
    deadline = time.monotonic() + guard
    sql = "SELECT COUNT(*) AS n FROM outbox WHERE done_at IS NULL AND NOT " + IN_CHANNEL
    while True:
        waiting = query(sb)(sql, (channel, channel))[0]["n"]
        if waiting == 0 or time.monotonic() > deadline:
            return int(waiting)
        sb.sandbox.services.dispatcher.wake()
        await asyncio.sleep(0.05)


def lane_of(row: Any) -> tuple[str, int]:
    """A row's lane as the issue names them: a channel, a member's DMs, a member's roles."""
    payload = json.loads(row["payload"])
    if "channel_id" in payload:
        return ("channel", int(payload["channel_id"]))
    return (row["kind"].split("_")[0], int(payload.get("user_id", 0)))


async def wait_until_failed(sb: Any, channel: int) -> None:
    """Move the clock past each back-off until nothing waits in ``channel``'s lane (its rows failed for good)."""
    sql = "SELECT COUNT(*) AS n, COALESCE(SUM(attempts), 0) FROM outbox WHERE done_at IS NULL AND " + IN_CHANNEL
    for _ in range(500):  # each waiting row takes up to MAX_ATTEMPTS moves
        before = query(sb)(sql, (channel, channel))[0]
        if before["n"] == 0:
            return
        await sb.clock(advance=LONGEST_BACKOFF)
        deadline = time.monotonic() + 5
        while tuple(query(sb)(sql, (channel, channel))[0]) == tuple(before) and time.monotonic() < deadline:
            sb.sandbox.services.dispatcher.wake()
            await asyncio.sleep(0.05)
    raise AssertionError(f"rows still wait in channel {channel}")


async def link(sb: Any, name: str) -> None:
    await sb.add_member(name)
    await sb.user(name)
    result = await sb.command("owner", "vestry link", member=name, github=name)
    assert "Linked" in result["responses"][0]["content"], result


async def test_a_503_storm_on_one_channel_for_an_hour_delays_no_other_lane(sandbox: Any) -> None:
    sb, discord = sandbox, sandbox.sandbox.discord
    kudos = discord.channel_id("kudos")
    await link(sb, "ann")
    await sb.settle()
    discord.add_fault("POST", f"/channels/{kudos}/messages", 503, 10**6, 0.2)
    await sb.merge(await sb.pull("ann", "First change"))  # a first-PR post and a promotion post in #kudos
    started = sb.sandbox.clock.now()
    steps = 0
    while (sb.sandbox.clock.now() - started).total_seconds() < HOUR:
        steps += 1
        if steps % 6 == 1:  # every 6 minutes, another member is linked: a role grant in a lane of its own
            await link(sb, f"m{steps}")
        if steps % 15 == 0:
            result = await sb.command("owner", "digest post")
            assert result["responses"], result
        assert await wait_for_lanes_except(sb, kudos) == 0, f"another lane was held at minute {steps}"
        await sb.clock(advance=STEP)
        sb.sandbox.services.dispatcher.wake()
    others = query(sb)(
        "SELECT kind, payload, created_at, done_at FROM outbox WHERE created_at >= ? AND NOT " + IN_CHANNEL,
        (started.isoformat(), kudos, kudos),
    )
    delays = [checks.seconds_between(row["created_at"], row["done_at"]) for row in others]
    assert len(others) >= 10 and {row["kind"] for row in others} >= {"role_add", "message"}, [dict(r) for r in others]
    assert max(delays) < STEP, f"another lane waited {max(delays):.1f}s of sandbox time"
    assert not [m for m in checks.bot_posts(discord) if m.channel_id == kudos and m.timestamp >= started]

    # The stuck post ends as a dead letter, shown and counted, and only a maintainer's retry brings it back.
    await wait_until_failed(sb, kudos)
    failed = query(sb)("SELECT id, attempts, last_error FROM outbox WHERE failed = 1 ORDER BY id", ())
    assert failed and all("503" in row["last_error"] for row in failed), failed
    discord.rest.faults.clear()
    await settle_through_backoff(sb)
    assert not [m for m in checks.bot_posts(discord) if m.channel_id == kudos and m.timestamp >= started]
    status = (await sb.command("owner", "vestry status"))["responses"][0]["embeds"][0]
    assert f"{len(failed)} failed" in status["description"] and f"retry:{failed[-1]['id']}" in str(status["fields"])
    listing = (await sb.command("owner", "vestry outbox"))["responses"][0]["embeds"][0]
    assert f"Failed: {len(failed)}" in listing["fields"][1]["name"], listing
    assert f"**#{failed[-1]['id']}**" in listing["fields"][1]["value"], listing
    _, text = await get(base_url(sb) + "/metrics")
    assert parse_prometheus(text)["vestry_outbox_failed"][""] == len(failed)
    denied = (await sb.command("ann", "vestry outbox", retry=failed[0]["id"]))["responses"][0]
    assert denied["ephemeral"] and "maintainer" in denied["content"].lower(), denied
    for row in failed:
        answer = (await sb.command("owner", "vestry outbox", retry=row["id"]))["responses"][0]
        assert f"#{row['id']}" in answer["content"] and "tried again" in answer["content"], answer
    await sb.settle()
    assert len([m for m in checks.bot_posts(discord) if m.channel_id == kudos and m.timestamp >= started]) == len(
        failed
    )
    again = (await sb.command("owner", "vestry outbox", retry=failed[0]["id"]))["responses"][0]
    assert "has not failed" in again["content"], again
    assert checks.exactly_once(discord, query(sb)) == []
    checks.record(
        "Outbox lanes: a 503 storm on #kudos for an hour of sandbox time",
        len(others),
        f"no other lane waited: longest {max(delays):.2f}s of sandbox time (retry interval {STEP:.0f}s); "
        f"the #kudos posts became {len(failed)} dead letters after {failed[0]['attempts']} attempts, "
        "shown in /vestry outbox, /vestry status and /metrics, and were posted once each when retried",
        lanes=len({lane_of(row) for row in others}),
        max_delay_s=round(max(delays), 2),
    )


async def test_a_wall_clock_set_back_a_day_delays_no_side_effect(sandbox: Any) -> None:
    sb, discord = sandbox, sandbox.sandbox.discord
    kudos = discord.channel_id("kudos")
    await link(sb, "ann")
    await sb.settle()
    discord.add_fault("POST", f"/channels/{kudos}/messages", 503, 1, 0.2)
    await sb.merge(await sb.pull("ann", "First change"))
    assert await wait_for_lanes_except(sb, kudos) == 0
    tried = "SELECT COUNT(*) AS n FROM outbox WHERE attempts > 0 AND done_at IS NULL AND " + IN_CHANNEL
    deadline = time.monotonic() + 20
    while not query(sb)(tried, (kudos, kudos))[0]["n"]:  # the post failed once and waits for its retry
        assert time.monotonic() < deadline, "the #kudos post was never tried"
        await asyncio.sleep(0.05)
    await sb.clock(now=(sb.sandbox.clock.now().replace(microsecond=0) - _DAY).isoformat())
    await link(sb, "ben")  # new work after the step back
    assert await wait_for_lanes_except(sb, kudos) == 0, "work queued after the step back was held"
    remaining: dict[str, int] = {}
    for _ in range(12):  # moves of 60 s cover any back-off of the first attempts; a day is never waited out
        remaining = await sb.sandbox.settle(timeout=0.5)
        if not any(remaining.values()):
            break
        await sb.clock(advance=STEP)
    assert not any(remaining.values()), remaining
    assert len([m for m in checks.bot_posts(discord) if m.channel_id == kudos]) >= 1
    assert checks.exactly_once(discord, query(sb)) == []
    checks.record(
        "Outbox: wall clock set back one day during a retry",
        1,
        "the retry ran after its back-off (monotonic), new work was not held; nothing waited a day",
    )
