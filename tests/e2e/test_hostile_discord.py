"""Big, messy data against the strict Discord emulator: the bot stays within every limit, and says what it cannot do.

Every test here leaves ``GET /discord/rejections`` empty (the ``sandbox`` fixtures check it on exit) unless it
says otherwise: a request real Discord would refuse is a bug in the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from bot.sandbox.client import ControlClient
from tests.e2e.test_reviews import DAY, HOUR, REPO_PATH, next_monday, nudge

LONG_SLUG = "t" * 100
LONG_REPO = f"{'o' * 39}/{'r' * 100}"


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c.get("custom_id") or "" for row in message["components"] for c in row["components"]]


async def team_requests(sb: ControlClient, count: int, team: str, repo_path: str = REPO_PATH) -> None:
    await sb.user("dev42")
    for index in range(count):
        number = await sb.pull("dev42", f"Change {index} " + "x" * 200)
        await sb.post(f"{repo_path}/{number}/review-requests", {"reviewers": [], "teams": [team]})
    await sb.settle()


async def test_a_100_character_team_slug_gets_reminders_whose_buttons_fit_and_work(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"reviews": {"team_roles": {LONG_SLUG: "Maintainers"}}}) as sb:
        await sb.clock(now=next_monday().isoformat())
        await team_requests(sb, 1, LONG_SLUG)
        await sb.clock(advance=2 * DAY + 2 * HOUR)
        (reminder,) = await nudge(sb)
        ids = custom_ids(reminder)
        assert len(ids) == 2 and all(len(i) <= 100 for i in ids), ids
        snooze = next(i for i in ids if i.startswith("nudge:snooze:"))
        answer = (await sb.click("owner", reminder["id"], snooze))["responses"][0]
        assert "team " + LONG_SLUG[:20] in answer["content"]
        assert await sb.get("/discord/rejections") == []


async def test_110_prs_waiting_on_one_team_fit_one_reminder_and_on_it_answers_and_acknowledges_all(
    sandbox_factory: Any,
) -> None:
    async with sandbox_factory(overrides={"reviews": {"team_roles": {"core": "Maintainers"}}}) as sb:
        await sb.clock(now=next_monday().isoformat())
        await team_requests(sb, 110, "core")
        await sb.clock(advance=2 * DAY + 2 * HOUR)
        (reminder,) = await nudge(sb)
        assert all(len(e.get("description", "")) <= 4096 for e in reminder["embeds"])
        on_it = next(i for i in custom_ids(reminder) if i.startswith("nudge:onit:"))
        (answer,) = (await sb.click("owner", reminder["id"], on_it))["responses"]
        assert len(answer["content"]) <= 2000 and "and 100 more" in answer["content"]
        acks = await sb.sandbox.services.db.fetchval("SELECT COUNT(*) FROM review_acks")
        assert acks == 110


async def test_a_140_character_repository_name_is_announced_and_offered_within_limits(sandbox_factory: Any) -> None:
    overrides = {"github": {"repositories": ["sandbox/project", LONG_REPO]}}
    async with sandbox_factory(overrides=overrides) as sb:
        await sb.post("/github/repos", {"full_name": LONG_REPO})
        await sb.clock(advance=2)
        await sb.user("newbie")
        number = await sb.pull("newbie", "A first change " + "y" * 250, repo=LONG_REPO)
        await sb.merge(number, repo=LONG_REPO)
        await sb.settle()
        (post,) = await sb.messages("kudos")
        assert "newbie" in post["content"] + str(post["embeds"])
        choices = (
            await sb.post(
                "/discord/autocomplete", {"member": "owner", "command": "reviews", "option": "repo", "value": ""}
            )
        )["choices"]
        assert [c["value"] for c in choices] == ["sandbox/project"]  # too long to be a choice; it can be typed


async def test_150_first_time_merges_in_a_burst_are_posted_within_limits(sandbox: Any) -> None:
    await sandbox.clock(advance=2)
    bus = sandbox.sandbox.services.bus
    await bus.stop()  # as after a restart: the merges wait in the event log and are handled in one batch
    try:
        for index in range(150):
            await sandbox.user(f"hacker{index}")
            await sandbox.merge(await sandbox.pull(f"hacker{index}", f"Hackathon fix {index} " + "z" * 150))
        await sandbox.sandbox.services.webhooks.drain()
    finally:
        await bus.start()
    await sandbox.settle()
    posts = await sandbox.messages("kudos")
    named = {f["name"].split(" · ")[0] for post in posts for embed in post["embeds"] for f in embed.get("fields", [])}
    assert named == {f"hacker{i}" for i in range(150)}
    assert all(len(custom_ids(post)) <= 25 for post in posts)


async def test_60_late_links_refresh_posts_without_going_over_discords_edit_caps(sandbox: Any) -> None:
    await sandbox.clock(advance=2)
    for index in range(60):
        await sandbox.user(f"late{index}")
        await sandbox.merge(await sandbox.pull(f"late{index}", f"Fix {index}"))
        await sandbox.settle()
    await sandbox.clock(advance=2 * HOUR)  # the posts are now over an hour old
    for index in range(60):
        await sandbox.add_member(f"member{index}")
        await sandbox.command("owner", "vestry link", member=f"member{index}", github=f"late{index}")
    await sandbox.settle()
    posts = await sandbox.messages("kudos")
    refreshed = sum(1 for post in posts if post["edited_at"] is not None)
    assert 0 < refreshed <= 20  # within the bot's budget, below Discord's cap; the rest stay as they were
    assert await sandbox.get("/discord/rejections") == []


async def test_a_managed_tier_role_is_flagged_and_never_granted(sandbox: Any) -> None:
    managed = (await sandbox.post("/discord/roles", {"name": "Sponsor", "managed": True}))["id"]
    sandbox.sandbox.services.settings.ladder.tiers[1].role_id = int(managed)
    answer = (await sandbox.command("owner", "vestry status"))["responses"][0]
    problems = next(f["value"] for f in answer["embeds"][0]["fields"] if f["name"] == "Problems")
    assert "@Sponsor belongs to an integration" in problems and "ladder.tiers" in problems
    await sandbox.clock(advance=2)
    await sandbox.user("newbie")
    await sandbox.add_member("alice")
    await sandbox.command("owner", "vestry link", member="alice", github="newbie")
    await sandbox.merge(await sandbox.pull("newbie", "First"))
    await sandbox.settle()
    alice = next(m for m in (await sandbox.state())["members"] if m["name"] == "alice")
    assert "Follower" in alice["roles"] and "Sponsor" not in alice["roles"]
    failed = await sandbox.sandbox.services.db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'role_add' AND last_error LIKE '%belongs to an integration%'"
    )
    assert failed == 1  # the grant failed in the outbox, without asking Discord
    assert await sandbox.get("/discord/rejections") == []


async def test_a_private_kudos_channel_is_flagged_and_never_posted_into(sandbox: Any) -> None:
    secret = (await sandbox.post("/discord/channels", {"name": "secret-kudos", "private": True}))["id"]
    sandbox.sandbox.services.settings.discord.channels.kudos = int(secret)
    answer = (await sandbox.command("owner", "vestry status"))["responses"][0]
    problems = next(f["value"] for f in answer["embeds"][0]["fields"] if f["name"] == "Problems")
    assert "cannot see #secret-kudos" in problems and "View Channel" in problems
    await sandbox.clock(advance=2)
    await sandbox.user("newbie")
    await sandbox.merge(await sandbox.pull("newbie", "First"))
    await sandbox.settle()
    assert await sandbox.messages("secret-kudos") == []
    failed = await sandbox.sandbox.services.db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE last_error LIKE '%cannot see%'"
    )
    assert failed == 1
    assert await sandbox.get("/discord/rejections") == []


async def test_a_20_minute_backfill_posts_its_result_in_the_maintainers_channel(sandbox: Any) -> None:
    pulls = [
        {"number": n, "author": f"old{n}", "merged_at": "2025-01-01T00:00:00Z", "merged_by": "maintainer"}
        for n in range(1, 31)
    ]
    await sandbox.post("/github/history", {"repo": "sandbox/project", "pulls": pulls})
    backfill = sandbox.sandbox.services.backfill
    run, twenty_minutes_later = backfill.run, asyncio.Event()

    async def long_run(*args: Any, **kwargs: Any) -> Any:
        await twenty_minutes_later.wait()  # the import of a big repository, as long as the test says
        return await run(*args, **kwargs)

    backfill.run = long_run
    discord = sandbox.sandbox.discord
    running = asyncio.create_task(discord.invoke_command("owner", "vestry backfill", {}, timeout=60))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not any(r.callback_type == 5 for r in discord.interactions.records.values()):
        assert loop.time() < deadline, "the backfill was never acknowledged"
        await asyncio.sleep(0.05)
    await sandbox.clock(advance=20 * 60)  # the backfill outlives its interaction token
    twenty_minutes_later.set()
    try:
        deadline = loop.time() + 45
        while not [m for m in await sandbox.messages("maintainers") if "Backfill finished" in m["content"]]:
            assert loop.time() < deadline, "the backfill's result never reached the maintainers channel"
            await asyncio.sleep(0.2)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await running
    (result,) = [m for m in await sandbox.messages("maintainers") if "Backfill finished" in m["content"]]
    assert "sandbox/project" in result["content"] and result["mentions"] == ["owner"]
    assert await sandbox.get("/discord/rejections") == []
