"""Invitations end to end: the real bot comments once on a first-timer's pull request in the GitHub emulator.

Every test runs with ``expect_rejections=False``: GitHub (the strict emulator) refused nothing the bot sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.sandbox.client import ControlClient
from bot.services.invitations.send import MAX_ATTEMPTS
from tests.e2e.test_kudos import first_pr_posts, wait_until_live
from tests.e2e.test_linking import device_link

REPO = "sandbox/project"
INVITE = "https://discord.gg/vestry-sandbox"
ON = {
    "invitations": {"enabled": True, "discord_invite": INVITE, "delay": "0s"},
    "github": {"ignored_accounts": ["ci-person"]},
}
CELEBRATED = "celebrated in Discord ✓"


@pytest.fixture
async def sb(sandbox_factory: Callable[..., Any]) -> AsyncIterator[ControlClient]:
    async with sandbox_factory(overrides=ON, device_interval=1, expect_rejections=False) as client:
        await wait_until_live(client)
        yield client


async def comments(sb: ControlClient, number: int) -> list[dict[str, Any]]:
    """The comments the bot wrote on a pull request."""
    return await sb.get("/github/comments", repo=REPO, number=number)  # type: ignore[no-any-return]


async def status_text(sb: ControlClient) -> str:
    return str((await sb.command("owner", "vestry status"))["responses"][0]["embeds"][0]["description"])


async def test_a_first_pull_request_gets_one_invitation_and_a_second_gets_none(sb: ControlClient) -> None:
    await sb.user("newbie")
    first = await sb.pull("newbie", "Fix a typo")
    await sb.settle()
    (comment,) = await comments(sb, first)
    assert INVITE in comment["body"] and "/link" in comment["body"] and "newbie" in comment["body"]
    assert comment["user"]["login"] == "vestry-bot"
    second = await sb.pull("newbie", "Another fix")
    await sb.merge(first)
    await sb.merge(second)
    await sb.settle()
    assert await comments(sb, second) == []
    assert [c["id"] for c in await comments(sb, first)] == [comment["id"]]
    assert "**Invitations on GitHub** 1 sent, 0 pending, 0 failed" in await status_text(sb)
    requests = (await sb.get("/requests"))["github"]
    assert requests["POST /repos/{owner}/{repo}/issues/{number}/comments"]["requests"] == 1


async def test_bots_organisations_ignored_accounts_and_opted_out_pull_requests_get_none(sb: ControlClient) -> None:
    numbers = []
    await sb.user("helper[bot]", type="Bot")
    numbers.append(await sb.pull("helper[bot]", "Bump a dependency"))
    await sb.user("acme-corp", type="Organization")
    numbers.append(await sb.pull("acme-corp", "Release automation"))
    await sb.user("ci-person")
    numbers.append(await sb.pull("ci-person", "Nightly build"))
    await sb.user("quiet")
    numbers.append(await sb.pull("quiet", "Please no welcome", labels=["No-Invitation"]))
    await sb.settle()
    for number in numbers:
        assert await comments(sb, number) == [], number
    await sb.user("someone")
    control = await sb.pull("someone", "A plain first change")
    await sb.settle()
    assert len(await comments(sb, control)) == 1


async def test_history_is_never_invited_and_a_veteran_is_no_first_timer(sb: ControlClient) -> None:
    pulls = [{"number": 500, "author": "veteran", "merged_at": "2020-01-01T10:00:00Z", "merged_by": "maintainer"}]
    await sb.post("/github/history", {"repo": REPO, "pulls": pulls})
    assert (await sb.command("owner", "vestry backfill"))["responses"]
    await sb.settle()
    assert await comments(sb, 500) == []
    number = await sb.pull("veteran", "Back after a while")
    await sb.settle()
    assert await comments(sb, number) == []


async def test_linking_after_the_celebration_edits_the_comment_instead_of_posting_again(sb: ControlClient) -> None:
    await sb.add_member("newbie")
    await sb.user("newbie-gh")
    number = await sb.pull("newbie-gh", "Fix a typo")
    await sb.settle()
    (before,) = await comments(sb, number)
    assert CELEBRATED not in before["body"]
    await sb.merge(number)
    await sb.settle()
    assert len(first_pr_posts(await sb.messages("kudos"))) == 1
    assert "Linked" in await device_link(sb, "newbie", "newbie-gh")
    await sb.settle()
    (after,) = await comments(sb, number)
    assert after["id"] == before["id"] and after["body"].startswith(before["body"].split("\n\n<!--")[0])
    assert CELEBRATED in after["body"]
    requests = (await sb.get("/requests"))["github"]
    assert requests["PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"]["requests"] == 1
    assert requests["POST /repos/{owner}/{repo}/issues/{number}/comments"]["requests"] == 1


async def test_an_author_linked_before_their_first_pull_request_gets_no_invitation(sb: ControlClient) -> None:
    await sb.add_member("early")
    await sb.user("early-gh")
    assert "Linked" in await device_link(sb, "early", "early-gh")
    number = await sb.pull("early-gh", "First change, already in the Discord")
    await sb.settle()
    assert await comments(sb, number) == []


async def test_a_refused_comment_is_tried_again_and_posted_once(sb: ControlClient) -> None:
    route = "/repos/{owner}/{repo}/issues/{number}/comments"
    await sb.post("/github/faults", {"method": "POST", "route": route, "status": 503, "times": 1})
    await sb.post("/github/faults", {"method": "POST", "route": route, "status": "secondary-rate-limit", "times": 1})
    await sb.user("unlucky")
    number = await sb.pull("unlucky", "A change on a bad day")
    await sb.settle()
    for _ in range(2):
        await sb.clock(advance=3600)
        await sb.settle()
    (comment,) = await comments(sb, number)
    assert INVITE in comment["body"]
    requests = (await sb.get("/requests"))["github"]
    assert requests["POST /repos/{owner}/{repo}/issues/{number}/comments"]["requests"] == 3
    assert requests["GET /repos/{owner}/{repo}/issues/{number}/comments"]["requests"] >= 1  # looked before posting


HOSTILE_LOGIN = "<img src=x onerror=alert(1)>@everyone"
HOSTILE_TITLE = "@maintainer [click](https://evil.example) <script>alert(1)</script> **bold** #1 www.evil.example"


async def test_hostile_titles_and_logins_reach_the_comment_escaped(sandbox_factory: Callable[..., Any]) -> None:
    message = {"message": "Hi {login}! About {title}: join us at {invite}"}
    overrides = {"invitations": {"enabled": True, "discord_invite": INVITE, "delay": "0s", **message}}
    async with sandbox_factory(overrides=overrides, expect_rejections=False) as sb:
        await wait_until_live(sb)
        await sb.user(HOSTILE_LOGIN)
        number = await sb.pull(HOSTILE_LOGIN, HOSTILE_TITLE)
        await sb.settle()
        (comment,) = await comments(sb, number)
    body = comment["body"]
    for raw in ("<img", "<script", "@everyone", "@maintainer", "](https", "https://evil", "www.evil", "**bold**"):
        assert raw not in body, (raw, body)
    assert body.startswith("Hi &lt;img src\\=x onerror\\=alert\\(1\\)&gt;@\u200beveryone!"), body
    assert "\\#1 " in body and "&lt;script&gt;" in body
    assert f"join us at {INVITE}" in body


async def test_on_merged_invites_at_the_first_merge_and_never_for_backfilled_history(
    sandbox_factory: Callable[..., Any],
) -> None:
    overrides = {"invitations": {"enabled": True, "discord_invite": INVITE, "delay": "0s", "on": "merged"}}
    async with sandbox_factory(overrides=overrides, expect_rejections=False) as sb:
        await wait_until_live(sb)
        pulls = [{"number": 700, "author": "oldtimer", "merged_at": "2020-01-01T10:00:00Z", "merged_by": "maintainer"}]
        await sb.post("/github/history", {"repo": REPO, "pulls": pulls})
        assert (await sb.command("owner", "vestry backfill"))["responses"]
        await sb.user("fresh")
        number = await sb.pull("fresh", "A first change")
        await sb.settle()
        opened_only = await comments(sb, number)
        await sb.merge(number)
        await sb.settle()
        history, merged = await comments(sb, 700), await comments(sb, number)
    assert history == [] and opened_only == []
    assert len(merged) == 1 and "fresh" in merged[0]["body"]


async def test_maintainers_preview_the_invitation_and_members_cannot(sb: ControlClient) -> None:
    (answer,) = (await sb.command("owner", "vestry invitation preview"))["responses"]
    assert answer["ephemeral"] is True
    (embed,) = answer["embeds"]
    assert embed["title"] == "Invitation preview" and INVITE in embed["description"]
    assert "octocat" in embed["description"] and "/link" in embed["description"]
    assert "vestry:invitation" not in embed["description"]
    await sb.add_member("mallory")
    refused = await sb.command("mallory", "vestry invitation preview")
    assert "Only maintainers" in refused["responses"][0]["content"]


async def test_the_preview_says_when_invitations_are_off(sandbox: ControlClient) -> None:
    (answer,) = (await sandbox.command("owner", "vestry invitation preview"))["responses"]
    assert "Invitations are off" in answer["embeds"][0]["footer"]["text"]
    assert "Invitations on GitHub" not in str((await sandbox.command("owner", "vestry status"))["responses"])


async def test_the_hourly_cap_holds_invitations_back_until_the_hour_has_passed(
    sandbox_factory: Callable[..., Any],
) -> None:
    overrides = {"invitations": {"enabled": True, "discord_invite": INVITE, "delay": "0s", "per_hour": 1}}
    async with sandbox_factory(overrides=overrides, expect_rejections=False) as sb:
        await wait_until_live(sb)
        numbers = []
        for login in ("first-timer-a", "first-timer-b"):
            await sb.user(login)
            numbers.append(await sb.pull(login, "A first change"))
        await sb.settle()
        early = [len(await comments(sb, n)) for n in numbers]
        assert "1 sent, 1 pending, 0 failed" in await status_text(sb)
        await sb.clock(advance=3601)
        await sb.settle()
        later = [len(await comments(sb, n)) for n in numbers]
    assert early == [1, 0] and later == [1, 1]


async def test_a_first_pull_request_first_seen_merged_is_invited_at_its_merge(sb: ControlClient) -> None:
    await sb.user("quick")
    number = await sb.pull("quick", "Opened and merged while nobody watched", deliver=False)
    await sb.settle()
    assert await comments(sb, number) == []
    await sb.merge(number)
    await sb.settle()
    assert len(await comments(sb, number)) == 1


async def test_an_invitation_waiting_when_the_repository_is_renamed_is_posted_under_the_new_name(
    sb: ControlClient,
) -> None:
    route = "/repos/{owner}/{repo}/issues/{number}/comments"
    await sb.post("/github/faults", {"method": "POST", "route": route, "status": 502, "times": 1})
    await sb.user("mover")
    number = await sb.pull("mover", "A change before the move")
    await sb.settle()
    await sb.post(f"/github/repos/{REPO}/rename", {"full_name": "sandbox/renamed"})
    await sb.settle()
    await sb.clock(advance=3600)
    await sb.settle()
    (comment,) = await sb.get("/github/comments", repo="sandbox/renamed", number=number)
    assert "/sandbox/renamed/pull/" in comment["html_url"]
    requests = (await sb.get("/requests"))["github"]
    assert requests["POST /repos/{owner}/{repo}/issues/{number}/comments"]["requests"] == 2


async def test_an_outage_that_outlasts_every_retry_is_counted_failed_and_named_in_status(sb: ControlClient) -> None:
    route = "/repos/{owner}/{repo}/issues/{number}/comments"
    await sb.post("/github/faults", {"method": "POST", "route": route, "status": 503, "times": 1000})
    await sb.user("unlucky")
    number = await sb.pull("unlucky", "A change during a long outage")
    await sb.settle()
    for _ in range(MAX_ATTEMPTS):
        await sb.clock(advance=3600)
        await sb.settle()
    assert await comments(sb, number) == []
    text = str((await sb.command("owner", "vestry status"))["responses"][0]["embeds"][0])
    assert "0 sent, 0 pending, 1 failed" in text and "could not be posted on GitHub" in text, text
