"""Review nudges end to end: the real bot in the sandbox, the clock moved, the job run through /jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.client import ControlClient

HOUR = 3600
DAY = 24 * HOUR
REPO_PATH = "/github/pulls/sandbox/project"


def next_monday(hour: int = 8) -> datetime:
    """A Monday at least a week ahead of the real clock, so every stamp is in the sandbox's future."""
    soon = datetime.now(UTC) + timedelta(days=7)
    day = soon.date() - timedelta(days=soon.weekday())
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def link(sb: ControlClient, member: str, login: str) -> str:
    """Add a member and link them to a GitHub login the way a maintainer does, with /vestry link."""
    member_id = await sb.add_member(member)
    body = {"member": "owner", "command": "vestry link", "options": {"member": member, "github": login}}
    answer = (await sb.post("/discord/commands", body))["responses"][0]
    assert answer["content"].startswith("Linked"), answer
    return member_id


async def request(sb: ControlClient, number: int, reviewers: Sequence[str] = (), teams: Sequence[str] = ()) -> None:
    """Ask users or teams to review a pull request."""
    await sb.post(f"{REPO_PATH}/{number}/review-requests", {"reviewers": list(reviewers), "teams": list(teams)})


async def nudge(sb: ControlClient) -> list[dict[str, Any]]:
    """Run the nudge job and return every reminder posted so far."""
    await sb.run_job("reviews.nudge")
    await sb.settle()
    return [m for m in await sb.messages("reviews") if m["content"].startswith("**Review reminder**")]


def text(message: dict[str, Any]) -> str:
    """The reminder's rows."""
    return "\n".join(str(embed.get("description", "")) for embed in message["embeds"])


def pinged(message: dict[str, Any]) -> set[str]:
    """The names of the members a message really pinged (as the emulator resolved them)."""
    return set(message.get("mentions", []))


def allows_role(message: dict[str, Any], role: str) -> bool:
    """Whether the message allows pinging a role (Discord pings it if it is mentionable or the bot may)."""
    return role in {str(r) for r in (message.get("allowed_mentions") or {}).get("roles", [])}


def role_id(state: dict[str, Any], name: str) -> str:
    return next(str(role["id"]) for role in state["roles"] if role["name"] == name)


async def test_overdue_request_is_nudged_once_and_filtered_pulls_are_not(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"reviews": {"ignored_labels": ["blocked"]}}) as sb:
        await sb.clock(now=next_monday().isoformat())
        for login in ("dev42", "rev1", "carol"):
            await sb.user(login)
        alice = await link(sb, "alice", "rev1")
        pulls = {
            "Fix the parser": await sb.pull("dev42", "Fix the parser"),
            "Draft parser": await sb.pull("dev42", "Draft parser", draft=True),
            "Blocked parser": await sb.pull("dev42", "Blocked parser", labels=["blocked"]),
            "WIP: parser": await sb.pull("dev42", "WIP: parser"),
            "Approved parser": await sb.pull("dev42", "Approved parser"),
        }
        for number in pulls.values():
            await request(sb, number, ["rev1"])
        for by in ("maintainer", "carol"):
            await sb.post(f"{REPO_PATH}/{pulls['Approved parser']}/reviews", {"by": by, "state": "APPROVED"})
        await sb.settle()
        await sb.clock(advance=2 * DAY + 2 * HOUR)

        (reminder,) = await nudge(sb)
        assert f"<@{alice}>" in reminder["content"] and "alice" in pinged(reminder)
        assert "Fix the parser" in text(reminder)
        for title in ("Draft parser", "Blocked parser", "WIP: parser", "Approved parser"):
            assert title not in text(reminder)
        assert len(await nudge(sb)) == 1  # the same slot again posts nothing


async def test_weekend_does_not_count_toward_business_days(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"reviews": {"business_days": True}}) as sb:
        await sb.clock(now=(next_monday(10) + timedelta(days=4)).isoformat())  # Friday 10:00
        await sb.user("dev42")
        await sb.user("rev1")
        await request(sb, await sb.pull("dev42", "Weekend change"), ["rev1"])
        await sb.settle()
        await sb.clock(advance=3 * DAY + HOUR)  # Monday 11:00: one business day
        assert await nudge(sb) == []
        await sb.clock(advance=DAY)  # Tuesday 11:00: two
        (reminder,) = await nudge(sb)
        assert "Weekend change" in text(reminder)


async def test_team_request_mentions_the_mapped_role(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"reviews": {"team_roles": {"core": "Maintainers"}}}) as sb:
        await sb.clock(now=next_monday().isoformat())
        await sb.user("dev42")
        await request(sb, await sb.pull("dev42", "Team change"), teams=["core"])
        await sb.settle()
        await sb.clock(advance=2 * DAY + 2 * HOUR)
        (reminder,) = await nudge(sb)
        maintainers = role_id(await sb.state(), "Maintainers")
        assert f"<@&{maintainers}>" in reminder["content"] and allows_role(reminder, maintainers)
        assert "Team core" in text(reminder)


async def test_first_timer_comes_first_with_a_badge_and_escalation_mentions_maintainers(sandbox: Any) -> None:
    sb = sandbox
    await sb.clock(now=next_monday().isoformat())
    for login in ("veteran", "newbie", "rev1"):
        await sb.user(login)
    await sb.merge(await sb.pull("veteran", "Earlier work"))
    await request(sb, await sb.pull("veteran", "Veteran change"), ["rev1"])
    await sb.settle()
    await sb.clock(advance=6 * DAY)
    await request(sb, await sb.pull("newbie", "Newbie change"), ["rev1"])
    await sb.settle()
    await sb.clock(advance=2 * DAY + 2 * HOUR)

    (reminder,) = await nudge(sb)
    rows = [line for line in text(reminder).splitlines() if line.startswith("•")]
    assert "Newbie change" in rows[0] and "first-time contributor" in rows[0]
    assert "Veteran change" in rows[1] and "first-time contributor" not in rows[1]
    maintainers = role_id(await sb.state(), "Maintainers")
    assert f"<@&{maintainers}>" in reminder["content"] and allows_role(reminder, maintainers)


async def test_snooze_hides_a_row_for_one_run_and_only_its_reviewer_may_press(sandbox: Any) -> None:
    sb = sandbox
    await sb.clock(now=next_monday().isoformat())
    for login in ("dev42", "rev1", "rev2"):
        await sb.user(login)
    await link(sb, "alice", "rev1")
    await sb.add_member("bob")
    await request(sb, await sb.pull("dev42", "For rev1"), ["rev1"])
    await request(sb, await sb.pull("dev42", "For rev2"), ["rev2"])
    await sb.settle()
    await sb.clock(advance=2 * DAY + 2 * HOUR)
    (first,) = await nudge(sb)
    snooze = next(
        b["custom_id"] for row in first["components"] for b in row["components"] if b["label"].endswith("rev1")
    )

    refused = (await sb.click("bob", first["id"], snooze))["responses"][0]
    assert refused["ephemeral"] and "rev1" in refused["content"]
    done = (await sb.click("alice", first["id"], snooze))["responses"][0]
    assert done["ephemeral"] and "Snoozed" in done["content"]

    await sb.clock(advance=DAY)
    second = (await nudge(sb))[-1]
    assert "For rev2" in text(second) and "For rev1" not in text(second)
    await sb.clock(advance=DAY)
    third = (await nudge(sb))[-1]
    assert "For rev1" in text(third)


async def test_away_suppresses_the_mention_until_back(sandbox: Any) -> None:
    sb = sandbox
    await sb.clock(now=next_monday().isoformat())
    await sb.user("dev42")
    await sb.user("rev1")
    alice = await link(sb, "alice", "rev1")
    await request(sb, await sb.pull("dev42", "Holiday change"), ["rev1"])
    await sb.settle()

    bad = (await sb.command("alice", "away", until="yesterday"))["responses"][0]
    assert bad["ephemeral"] and "couldn't read" in bad["content"]
    away = (await sb.command("alice", "away", until="3d"))["responses"][0]
    assert away["ephemeral"] and "away" in away["content"]
    await sb.clock(advance=2 * DAY + 2 * HOUR)
    (reminder,) = await nudge(sb)
    assert "alice" not in pinged(reminder) and f"<@{alice}>" not in reminder["content"]
    assert "Holiday change" in text(reminder) and "away" in text(reminder)

    await sb.command("alice", "back")
    await sb.clock(advance=DAY)
    latest = (await nudge(sb))[-1]
    assert "alice" in pinged(latest)


async def test_quiet_hours_defer_the_post_until_they_end(sandbox_factory: Any) -> None:
    quiet = {"reviews": {"quiet_hours": {"start": "08:00", "end": "10:00"}}}
    async with sandbox_factory(overrides=quiet) as sb:
        await sb.clock(now=(next_monday() - timedelta(hours=2)).isoformat())
        await sb.user("dev42")
        await request(sb, await sb.pull("dev42", "Quiet change"), teams=["core"])
        await sb.settle()
        await sb.clock(advance=2 * DAY + 3 * HOUR + 1800)  # Wednesday 09:30, inside quiet hours
        assert await nudge(sb) == []
        await sb.clock(advance=HOUR)  # 10:30: the 09:00 slot goes out now
        (reminder,) = await nudge(sb)
        assert "Quiet change" in text(reminder)


async def test_reviews_command_and_dm_opt_in(sandbox: Any) -> None:
    sb = sandbox
    await sb.clock(now=next_monday().isoformat())
    await sb.user("dev42")
    await sb.user("rev1")
    await link(sb, "alice", "rev1")
    await request(sb, await sb.pull("dev42", "Listed change"), ["rev1"])
    await sb.settle()

    mine = (await sb.command("alice", "reviews"))["responses"][0]
    assert mine["ephemeral"] and "Listed change" in text(mine)
    wrong = (await sb.command("alice", "reviews", repo="someone/else"))["responses"][0]
    assert wrong["ephemeral"] and "sandbox/project" in wrong["content"]
    opted = (await sb.command("alice", "nudges dm", dm="on"))["responses"][0]
    assert opted["ephemeral"] and "direct message" in opted["content"]

    await sb.clock(advance=2 * DAY + 2 * HOUR)
    await nudge(sb)
    dms = await sb.messages("dm:alice")
    assert any("Listed change" in text(dm) for dm in dms)
