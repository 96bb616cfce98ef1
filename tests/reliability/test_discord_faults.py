"""Discord failures: runs of 503s, 502s and 429s on posting and on role changes, and dropped gateway sockets.

Afterwards every post and role change has happened exactly once, in the order of the facts that caused them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.reliability import checks

MESSAGES = "/channels/{channel_id}/messages"
ROLES = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
AUTHORS = ["ann", "ben", "cat", "dan"]


def file_query(path: Path) -> checks.Query:
    """Read a database file through a separate read-only connection."""

    def query(sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    return query


async def settle_through_backoff(sb: Any, rounds: int = 100) -> dict[str, int]:
    """Settle, moving the clock past each retry's backoff (the dispatcher schedules retries on the clock)."""
    remaining: dict[str, int] = {}
    for _ in range(rounds):
        remaining = await sb.sandbox.settle(timeout=0.3)
        if not any(remaining.values()):
            return remaining
        await sb.clock(advance=120)
    return remaining


async def link_all(sb: Any) -> None:
    """Members join and a maintainer links each to the GitHub account of the same name."""
    for name in AUTHORS:
        await sb.add_member(name)
        await sb.user(name)
        result = await sb.command("owner", "vestry link", member=name, github=name)
        assert "Linked" in result["responses"][0]["content"], result
    await sb.settle()


def fault(sb: Any, route: str, method: str, status: int, times: int, retry_after: float = 0.2) -> None:
    sb.sandbox.discord.add_fault(method, route, status, times, retry_after)


def posts_in(sb: Any, channel: str) -> list[Any]:
    channel_id = sb.sandbox.discord.channel_id(channel)
    return sorted((m for m in checks.bot_posts(sb.sandbox.discord) if m.channel_id == channel_id), key=lambda m: m.id)


def kudos_posts(sb: Any) -> list[tuple[str, str]]:
    """(who, what) for each post in #kudos, in channel order: first-PR posts by login, promotions by mention."""
    shown = []
    for message in posts_in(sb, "kudos"):
        embed = message.embeds[0] if message.embeds else {}
        if (embed.get("footer") or {}).get("text") == "First merged pull request":
            shown.append((embed["author"]["name"], "first-pr"))
        elif " is now a " in message.content:
            who, _, tier = message.content.partition(" is now a ")
            shown.append((who, tier.rstrip("!")))
    return shown


async def test_503_429_and_dropped_gateway_leave_every_post_and_role_done_once_in_order(sandbox_factory: Any) -> None:
    # The faults back the kudos channel up; with the default burst size that holds and combines the celebrations
    # (tests/e2e/test_replay_rate_limits.py and the burst benchmark cover that). Here each post must stay its own.
    async with sandbox_factory(overrides={"kudos": {"burst_size": 10}}) as sb:
        await _every_post_and_role_done_once_in_order(sb)


async def _every_post_and_role_done_once_in_order(sb: Any) -> None:
    discord = sb.sandbox.discord
    await link_all(sb)
    linked_posts = len(checks.bot_posts(discord))
    numbers = [await sb.pull(name, f"First change by {name}") for name in AUTHORS]
    for status, times in ((502, 1), (503, 3), (429, 2), (503, 2)):
        fault(sb, MESSAGES, "POST", status, times)
    for status, times in ((503, 2), (429, 2), (503, 1)):
        fault(sb, ROLES, "PUT", status, times)
    for index, number in enumerate(numbers):
        await sb.merge(number)
        if index % 2 == 0:
            await sb.post("/discord/disconnect")
    remaining = await settle_through_backoff(sb)
    assert not any(remaining.values()), remaining
    assert all(f.times == 0 for f in discord.rest.faults), "every injected fault was hit"

    query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
    assert checks.exactly_once(discord, query) == []
    assert [who for who, kind in kudos_posts(sb) if kind == "first-pr"] == AUTHORS
    promoted = [discord.member_id(a) for a in AUTHORS]
    assert [who for who, kind in kudos_posts(sb) if kind == "Priest in training"] == [f"<@{i}>" for i in promoted]
    row_of = {row["nonce"]: row["id"] for row in query("SELECT id, nonce FROM outbox", ())}
    row_ids = [row_of[str(m.nonce)] for m in posts_in(sb, "kudos")]
    assert row_ids == sorted(row_ids), "posts appear in the order their facts were decided"
    for name in AUTHORS:
        assert {"Follower", "Priest in training"} <= set(discord.member_roles(name))
    # Each member's roles are a lane of their own: order holds per member (Follower before the promotion), while
    # one member's failing grant holds no other member's.
    grants = [e for e in discord.request_log() if e["route"] == ROLES and e["method"] == "PUT" and e["status"] == 204]
    follower, promoted_role = discord.role_id("Follower"), discord.role_id("Priest in training")
    for name in AUTHORS:
        mine = [int(e["path"].split("/")[6]) for e in grants if int(e["path"].split("/")[4]) == discord.member_id(name)]
        assert mine.index(follower) < mine.index(promoted_role), f"{name}'s grants follow their facts"
    result = await sb.command("owner", "vestry status")
    assert result["responses"][0]["embeds"][0]["title"] == "Vestry status"
    checks.record(
        "Discord failures (503/502/429 on posts and roles, dropped gateway)",
        len(checks.bot_posts(discord)) - linked_posts + len(AUTHORS),
        "each post and role change done once, in the order of the merges; commands answered after resume",
        faults=1 + 3 + 2 + 2 + 2 + 2 + 1,
        disconnects=len(AUTHORS) // 2,
    )


async def test_a_post_that_discord_refuses_for_good_is_marked_failed_and_does_not_block_the_rest(
    sandbox: Any,
) -> None:
    sb = sandbox
    await link_all(sb)
    first, second = await sb.pull("ann", "One"), await sb.pull("ben", "Two")
    fault(sb, MESSAGES, "POST", 403, 1)
    await sb.merge(first)
    await sb.merge(second)
    remaining = await settle_through_backoff(sb)
    assert not any(remaining.values()), remaining
    query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
    failed = query("SELECT dedupe_key, last_error FROM outbox WHERE failed = 1", ())
    assert len(failed) == 1 and "403" in failed[0]["last_error"]
    assert ("ben", "first-pr") in kudos_posts(sb), "the next post went out"
    status = await sb.command("owner", "vestry status")
    problems = status["responses"][0]["embeds"][0]["fields"][-1]["value"]
    assert "could not be done" in problems, "the failure is reported in /vestry status"
