"""The weekly digest end to end: the real bot posts the sandbox's week, once, with a chart."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from PIL import Image

from bot.sandbox.client import ControlClient
from bot.services.digest.render import CHART_FILE

REPO = "sandbox/project"
# Friday 11 January 2030 16:00 UTC is a slot of the default schedule ("0 16 * * 5", UTC); its week starts 4 January.
MONDAY = "2030-01-07T10:00:00+00:00"
SLOT = "2030-01-11T16:00:00+00:00"
CODE = re.compile(r"`([A-Z]{4}-[A-Z]{4})`")


async def catch_up_runs(sb: Any) -> int:
    """How many times the start-up catch-up job has finished."""
    db = sb.sandbox.services.db
    sql = "SELECT runs FROM job_runs WHERE job = 'digest.catch_up' AND last_finish >= last_start"
    return int(await db.fetchval(sql, default=0))


async def started(sb: Any, runs_before: int = 0) -> Any:
    """Wait for the digest cog's start-up catch-up job, so that it cannot race the test; return the cog."""
    for _ in range(250):
        if await catch_up_runs(sb) > runs_before:
            break
        await asyncio.sleep(0.02)
    return sb.sandbox.app.bot.get_cog("Digest")


async def restart_digest(sb: Any) -> None:
    """Reload the digest cog as a restart would: its jobs are re-added and the start-up catch-up runs again."""
    before = await catch_up_runs(sb)
    await sb.sandbox.app.bot.reload_extension("cogs.digest")
    await started(sb, before)


async def link(sb: ControlClient, member: str, login: str) -> str:
    """Add a member and link them to ``login`` through the device flow; return their Discord id."""
    member_id = await sb.add_member(member)
    result = await sb.command(member, "link")
    match = CODE.search(result["responses"][0]["content"])
    assert match, result
    await sb.post("/github/device/approve", {"user_code": match.group(1), "login": login})
    for _ in range(150):
        if await sb.sandbox.services.db.fetchval("SELECT 1 FROM links WHERE login = ?", (login,)):  # type: ignore[attr-defined]
            return member_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"{member} was never linked to {login}")


async def reviewed_and_merged(sb: ControlClient, author: str, reviewer: str, wait_hours: float) -> int:
    """Open a PR, ask ``reviewer``, review it ``wait_hours`` later, and merge it."""
    number = await sb.pull(author, f"Improve things by {author}")
    await sb.post(f"/github/pulls/{REPO}/{number}/review-requests", {"reviewers": [reviewer]})
    await sb.clock(advance=wait_hours * 3600)
    await sb.post(f"/github/pulls/{REPO}/{number}/reviews", {"by": reviewer, "state": "APPROVED"})
    await sb.merge(number)
    return number


async def digest_posts(sb: ControlClient) -> list[dict[str, Any]]:
    await sb.settle()
    return await sb.messages("digest")


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {field["name"]: field["value"] for field in message["embeds"][0]["fields"]}


async def test_busy_week_is_posted_once_with_numbers_that_match_and_a_chart(sandbox: Any) -> None:
    sb = sandbox
    await started(sb)
    for login in ("alice", "bob", "carol", "dave"):
        await sb.user(login)
    await sb.clock(now="2030-01-02T10:00:00+00:00")  # the week before: carol's first merge
    await sb.merge(await sb.pull("carol", "Earlier work"))
    await sb.settle()
    alice_id = await link(sb, "alice-discord", "alice")
    await sb.clock(now=MONDAY)
    await reviewed_and_merged(sb, "alice", "bob", wait_hours=2)
    await reviewed_and_merged(sb, "carol", "bob", wait_hours=4)
    waiting = await sb.pull("dave", "Waiting for a look")
    await sb.post(f"/github/pulls/{REPO}/{waiting}/review-requests", {"reviewers": ["maintainer"]})
    bug = (await sb.post("/github/issues", {"repo": REPO, "author": "carol", "title": "Crash"}))["number"]
    await sb.post(f"/github/issues/{REPO}/{bug}/close", {"by": "bob"})
    await sb.post("/github/issues", {"repo": REPO, "author": "bob", "title": "Typo", "labels": ["good first issue"]})
    for login in ("alice", "carol"):
        await sb.post("/github/stars", {"repo": REPO, "user": login})
    await sb.command("owner", "kudos", member="alice-discord", reason="A lovely first PR")
    await sb.command(
        "owner", "recognize", member="alice-discord", kind="docs", link="https://github.com/sandbox/project/wiki/Guide"
    )
    await sb.settle()
    await sb.clock(now=SLOT)
    await sb.clock(advance=30)
    await sb.run_job("digest.weekly")
    await sb.run_job("digest.weekly")
    (post,) = await digest_posts(sb)

    assert f"Welcome to our new contributor <@{alice_id}>!" in post["content"]
    assert post["mentions"] == ["alice-discord"]  # the linked newcomer is pinged, nobody else
    shown = fields(post)
    assert shown["🔀 Pull requests"].startswith("**2** merged (▲ 1 from the week before)")
    assert "Top mergers: **maintainer** (2)" in shown["🔀 Pull requests"]
    assert shown["👀 Reviews"] == "**2** reviews of **2** PRs\nTop reviewers: **bob** (2 PRs)"
    assert shown["✅ Issues"] == "**1** closed\nTop closers: **bob** (1)"
    assert shown["⭐ Stars"] == "**+2** this week · **2** in total"
    assert "**1** PR waiting for review now: [project#" in shown["🩺 Review health"]
    assert "Median time to first review: **3 h**" in shown["🩺 Review health"]  # 2 h and 4 h
    assert "For first-time contributors: **2 h** (over 1 PR)" in shown["🩺 Review health"]
    assert "Typo" in shown["🌱 Good first issues"]
    assert shown["💌 Thanks given"] == "**1** kudos and **1** recognition"
    # The ladder promoted alice when her first PR was merged (she had become a Follower by linking, earlier).
    assert shown["🪜 Promotions"] == f"<@{alice_id}> → **Priest in training**"

    (attachment,) = post["attachments"]
    assert attachment["filename"] == CHART_FILE
    png = sb.sandbox.discord.attachment_bytes(post["id"], CHART_FILE)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG" and image.size[0] >= 400


async def test_missed_digest_is_caught_up_once_after_a_restart(sandbox: Any) -> None:
    sb = sandbox
    await started(sb)
    await sb.user("alice")
    await sb.clock(now=MONDAY)
    await sb.merge(await sb.pull("alice", "Fix"))
    await sb.settle()
    await sb.clock(now="2030-01-11T19:00:00+00:00")  # the bot was down at 16:00; 3 h later is within the grace
    assert await digest_posts(sb) == []
    await restart_digest(sb)
    (post,) = await digest_posts(sb)
    assert "4 Jan – 11 Jan 2030" in post["content"] and "**alice**" in post["content"]
    await restart_digest(sb)
    await sb.run_job("digest.weekly")
    assert len(await digest_posts(sb)) == 1


async def test_missed_digest_older_than_the_grace_is_not_posted_late(sandbox: Any) -> None:
    sb = sandbox
    await started(sb)
    await sb.clock(now="2030-01-12T06:00:00+00:00")  # 14 h after the slot, beyond the 12 h grace
    await restart_digest(sb)
    assert await digest_posts(sb) == []


async def test_quiet_week_gets_a_short_friendly_post(sandbox: Any) -> None:
    sb = sandbox
    await started(sb)
    await sb.clock(now=MONDAY)
    await sb.post("/github/issues", {"repo": REPO, "author": "maintainer", "title": "Docs", "labels": ["help wanted"]})
    await sb.settle()
    await sb.clock(now=SLOT)
    await sb.run_job("digest.weekly")
    (post,) = await digest_posts(sb)
    assert post["content"].startswith("📜 **A quiet week in the vestry** (4 Jan – 11 Jan 2030)")
    assert "project#1 · Docs" in post["content"]
    assert post["embeds"] == [] and post["attachments"] == []


async def test_maintainer_previews_a_past_week_and_posts_one_by_hand(sandbox: Any) -> None:
    sb = sandbox
    await started(sb)
    await sb.user("alice")
    await sb.clock(now=MONDAY)
    await sb.merge(await sb.pull("alice", "Fix"))
    await sb.settle()
    await sb.clock(now="2030-01-22T09:00:00+00:00")

    (preview,) = (await sb.command("owner", "digest preview", period="2030-01-08"))["responses"]
    assert preview["ephemeral"] is True
    assert "Preview of the digest for 4 Jan – 11 Jan 2030" in preview["content"]
    assert fields(preview)["🔀 Pull requests"].startswith("**1** merged")
    assert [a["filename"] for a in preview["attachments"]] == [CHART_FILE]
    (last,) = (await sb.command("owner", "digest preview", period="last"))["responses"]
    assert "A quiet week" in last["content"] and "11 Jan – 18 Jan 2030" in last["content"]
    (bad,) = (await sb.command("owner", "digest preview", period="next week"))["responses"]
    assert bad["ephemeral"] is True and "I can't read the period" in bad["content"]
    await sb.add_member("visitor")
    (refused,) = (await sb.command("visitor", "digest preview"))["responses"]
    assert "Only maintainers" in refused["content"]

    (done,) = (await sb.command("owner", "digest post", period="2030-01-08"))["responses"]
    assert "on its way" in done["content"]
    (post,) = await digest_posts(sb)
    assert "**alice**" in post["content"] and post["attachments"][0]["filename"] == CHART_FILE
    await sb.clock(now="2030-01-25T16:05:00+00:00")
    await sb.run_job("digest.weekly")  # the scheduled digest still comes
    assert len(await digest_posts(sb)) == 2
