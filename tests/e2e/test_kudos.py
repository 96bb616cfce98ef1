"""Kudos end to end: the real bot in the sandbox celebrates first merged PRs exactly once, and members thank members."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
import pytest

from bot.sandbox.github.webhooks import sign

FIRST_PR_FOOTER = "First merged pull request"


async def wait_until_live(sb: Any) -> None:
    """Let the start-up catch-up poll finish, then move the clock past go-live's second.

    GitHub stamps merges to the second; a merge in go-live's own second that the catch-up poll sees before its
    webhook would count as history (see the report to the lead). Real communities never hit that window.
    """
    poller = sb.sandbox.services.poller
    for _ in range(250):
        if poller is None or poller.last_report is not None:
            break
        await asyncio.sleep(0.02)
    await sb.clock(advance=2)


@pytest.fixture
async def sandbox(sandbox: Any) -> Any:
    """The default sandbox, once the bot has finished catching up with GitHub."""
    await wait_until_live(sandbox)
    return sandbox


def reply(result: dict[str, Any]) -> dict[str, Any]:
    """Return the bot's one answer to a command."""
    (response,) = result["responses"]
    return response  # type: ignore[no-any-return]


def first_pr_posts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the single first-PR posts."""
    return [m for m in messages if m["embeds"] and m["embeds"][0].get("footer", {}).get("text") == FIRST_PR_FOOTER]


def custom_ids(message: dict[str, Any]) -> list[str]:
    """Return the custom ids of a message's buttons."""
    return [c.get("custom_id", "") for row in message["components"] for c in row["components"]]


async def merged_newcomer(sb: Any, login: str, title: str = "Fix a typo") -> tuple[int, int]:
    """Create a GitHub user, open a PR as them and merge it; return (github id, PR number)."""
    github_id = await sb.user(login)
    number = await sb.pull(login, title)
    await sb.merge(number)
    return github_id, number


async def test_a_newcomers_first_merge_is_announced_once_and_their_second_is_not(sandbox: Any) -> None:
    github_id, number = await merged_newcomer(sandbox, "newbie", "Fix the install docs")
    await sandbox.settle()
    (post,) = first_pr_posts(await sandbox.messages("kudos"))
    assert "newbie" in post["content"]
    assert post["embeds"][0]["url"].endswith(f"/sandbox/project/pull/{number}")
    assert post["embeds"][0]["title"] == "Fix the install docs"
    assert custom_ids(post) == [f"link:claim:{github_id}"]
    second = await sandbox.pull("newbie", "Another fix")
    await sandbox.merge(second)
    await sandbox.settle()
    assert len(await sandbox.messages("kudos")) == 1


async def test_a_redelivered_merge_webhook_announces_nothing_more(sandbox: Any) -> None:
    await merged_newcomer(sandbox, "newbie")
    await sandbox.settle()
    (merge,) = [
        d for d in sandbox.sandbox.github.deliveries if d["event"] == "pull_request" and d["action"] == "closed"
    ]
    info = sandbox.sandbox.ready_info
    body = json.dumps(merge["payload"]).encode()
    async with aiohttp.ClientSession() as session:
        for delivery in (merge["id"], "redelivery-with-a-new-id"):
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": sign(info["webhook_secret"], body),
            }
            async with session.post(info["webhook"], data=body, headers=headers) as response:
                assert response.status < 300
    await sandbox.settle()
    assert len(await sandbox.messages("kudos")) == 1


async def test_history_loaded_from_github_is_never_announced(sandbox: Any) -> None:
    pulls = [
        {
            "number": 500 + i,
            "author": f"veteran{i}",
            "merged_at": f"2020-0{i + 1}-01T10:00:00Z",
            "merged_by": "maintainer",
        }
        for i in range(3)
    ]
    await sandbox.post("/github/history", {"repo": "sandbox/project", "pulls": pulls})
    result = await sandbox.command("owner", "vestry backfill")
    assert result["responses"]
    await sandbox.run_job("github.poll")
    await sandbox.settle()
    known = await sandbox.sandbox.services.db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE historical = 1")
    assert known == 3
    assert await sandbox.messages("kudos") == []


async def test_a_bots_pull_request_is_never_announced(sandbox: Any) -> None:
    await sandbox.user("renovate[bot]", type="Bot")
    number = await sandbox.pull("renovate[bot]", "Bump a dependency")
    await sandbox.merge(number)
    await sandbox.settle()
    assert await sandbox.messages("kudos") == []


async def test_a_discord_503_storm_delays_the_post_but_it_arrives_once(sandbox: Any) -> None:
    fault = {"method": "POST", "route": "/channels/{channel_id}/messages", "status": 503, "times": 3}
    await sandbox.post("/discord/faults", fault)
    await merged_newcomer(sandbox, "stormy")
    services = sandbox.sandbox.services
    for _ in range(100):  # the dispatcher backs off on the sandbox clock; move it on instead of sleeping
        if await sandbox.messages("kudos"):
            break
        await sandbox.clock(advance=30)
        services.dispatcher.wake()
        await asyncio.sleep(0.05)
    await sandbox.settle()
    (post,) = await sandbox.messages("kudos")
    assert "stormy" in post["content"]
    attempts = await services.db.fetchval("SELECT attempts FROM outbox WHERE dedupe_key LIKE 'first-pr:%'")
    assert attempts == 4


async def test_an_unlinked_authors_post_carries_this_is_me_and_mentions_them_once_linked(sandbox: Any) -> None:
    github_id, _ = await merged_newcomer(sandbox, "newbie")
    alice = await sandbox.add_member("alice")
    await sandbox.settle()
    (post,) = await sandbox.messages("kudos")
    assert custom_ids(post) == [f"link:claim:{github_id}"] and f"<@{alice}>" not in post["content"]
    await sandbox.command("owner", "vestry link", member="alice", github="newbie")
    await sandbox.settle()
    (edited,) = [m for m in await sandbox.messages("kudos") if m["id"] == post["id"]]
    assert f"<@{alice}>" in edited["content"] and custom_ids(edited) == []


async def test_clicking_this_is_me_and_signing_in_to_github_makes_the_post_mention_the_member(sandbox: Any) -> None:
    github_id, _ = await merged_newcomer(sandbox, "newbie")
    alice = await sandbox.add_member("alice")
    await sandbox.settle()
    (post,) = await sandbox.messages("kudos")
    answer = reply(await sandbox.click("alice", post["id"], f"link:claim:{github_id}"))
    code = re.search(r"`([A-Z0-9]{4}-[A-Z0-9]{4})`", answer["content"])
    assert answer["ephemeral"] is True and code is not None
    await sandbox.post("/github/device/approve", {"user_code": code.group(1), "login": "newbie"})
    for _ in range(200):  # the device flow polls GitHub every second until the code is approved
        (current,) = [m for m in await sandbox.messages("kudos") if m["id"] == post["id"]]
        if f"<@{alice}>" in current["content"]:
            break
        await asyncio.sleep(0.05)
    await sandbox.settle()
    (current,) = [m for m in await sandbox.messages("kudos") if m["id"] == post["id"]]
    assert f"<@{alice}>" in current["content"] and custom_ids(current) == []


async def test_a_burst_of_first_merges_is_combined_into_one_post_naming_everyone(sandbox: Any) -> None:
    logins = [f"hacker{i}" for i in range(6)]
    bus = sandbox.sandbox.services.bus
    await bus.stop()  # as after a restart: the merges wait in the event log and are handled in one batch
    try:
        for login in logins:
            await merged_newcomer(sandbox, login, f"Hackathon fix by {login}")
        await sandbox.sandbox.services.webhooks.drain()
    finally:
        await bus.start()
    await sandbox.settle()
    (post,) = await sandbox.messages("kudos")
    fields = post["embeds"][0]["fields"]
    assert sorted(f["name"].split(" · ")[0] for f in fields) == logins
    assert len(custom_ids(post)) == 6


async def test_kudos_is_public_counted_and_mentions_only_the_receiver(sandbox: Any) -> None:
    alice = await sandbox.add_member("alice")
    answer = reply(await sandbox.command("owner", "kudos", member="alice", reason="great **review** @everyone"))
    assert answer["ephemeral"] is False and f"<@{alice}>" in answer["content"]
    assert answer["embeds"][0]["description"] == "great \\*\\*review\\*\\* @\u200beveryone"
    (posted,) = await sandbox.messages("general")
    assert posted["allowed_mentions"]["users"] == [int(alice)] and posted["allowed_mentions"]["parse"] == []
    answer = reply(await sandbox.command("owner", "kudos", member="alice"))
    assert answer["embeds"][0]["footer"]["text"] == "2nd kudos received"


async def test_kudos_refuses_self_kudos_bots_long_reasons_and_givers_over_the_daily_limit(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    for options, expected in (
        ({"member": "owner"}, "yourself"),
        ({"member": "Vestry"}, "Bots"),
        ({"member": "alice", "reason": "x" * 301}, "300 characters"),
    ):
        answer = reply(await sandbox.command("owner", "kudos", **options))
        assert answer["ephemeral"] is True and expected in answer["content"]
    for _ in range(5):
        assert reply(await sandbox.command("owner", "kudos", member="alice"))["ephemeral"] is False
    answer = reply(await sandbox.command("owner", "kudos", member="alice"))
    assert answer["ephemeral"] is True and "daily limit" in answer["content"]


async def test_recognize_posts_in_kudos_and_refuses_bad_links_bots_self_and_non_maintainers(sandbox: Any) -> None:
    alice = await sandbox.add_member("alice")
    for who, options, expected in (
        ("owner", {"member": "alice", "kind": "talk", "link": "ftp://example.com/talk"}, "http"),
        ("owner", {"member": "alice", "kind": "talk", "link": "not a link"}, "http"),
        ("owner", {"member": "alice", "kind": "juggling", "link": "https://github.com/x"}, "kind"),
        ("owner", {"member": "Vestry", "kind": "talk", "link": "https://github.com/x"}, "Bots"),
        ("owner", {"member": "owner", "kind": "talk", "link": "https://github.com/x"}, "yourself"),
        ("alice", {"member": "owner", "kind": "talk", "link": "https://github.com/x"}, "Only maintainers"),
    ):
        answer = reply(await sandbox.command(who, "recognize", **options))
        assert answer["ephemeral"] is True and expected in answer["content"]
    answer = reply(
        await sandbox.command("owner", "recognize", member="alice", kind="doc", link="https://github.com/x/y/wiki")
    )
    assert answer["ephemeral"] is True and "posted" in answer["content"]
    await sandbox.settle()
    (post,) = await sandbox.messages("kudos")
    assert f"<@{alice}>" in post["content"] and post["embeds"][0]["url"] == "https://github.com/x/y/wiki"


async def test_profile_shows_a_linked_members_work_and_points_unlinked_members_to_link(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    answer = reply(await sandbox.command("owner", "profile", member="alice"))
    assert answer["ephemeral"] is True and "/link" in answer["content"]
    await merged_newcomer(sandbox, "alice-gh", "My first PR")
    await sandbox.command("owner", "vestry link", member="alice", github="alice-gh")
    await sandbox.command("owner", "kudos", member="alice", reason="thanks")
    await sandbox.settle()
    embed = reply(await sandbox.command("alice", "profile"))["embeds"][0]
    assert "alice\\-gh" in embed["description"] and "**Merged pull requests** 1" in embed["description"]
    assert "**Kudos received** 1" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "My first PR" in fields["First pull request"]
    assert fields["Ladder"] and "unknown" not in fields["Ladder"].lower()
