"""Idempotent interactions (issue 18, item 5): a command's effect and its post are recorded together, keyed by the
interaction, so a failed answer followed by a retry gives one kudos and one post.

Both tests fail on the main branch before this change (checked by running them against it): there the kudos was
recorded without its post when Discord refused the answer, and the member's retry recorded a second kudos (2 kudos,
1 post); a recognition answered in place was recorded without its post.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.client import ControlError
from tests.reliability import checks
from tests.reliability.test_discord_faults import file_query

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


def kudos_rows(sb: Any) -> int:
    query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
    return int(query("SELECT COUNT(*) AS n FROM peer_kudos", ())[0]["n"])


def kudos_posts(sb: Any, member_id: int) -> list[Any]:
    """Every message in Discord thanking the member: posts and interaction answers alike."""
    world = sb.sandbox.discord.world
    return [
        m
        for m in world.messages.values()
        if m.author_id == world.bot_user_id and not m.deleted and f"<@{member_id}>, " in m.content
    ]


async def test_a_kudos_whose_answer_failed_is_posted_once_and_a_retry_records_nothing_more(sandbox: Any) -> None:
    sb, discord = sandbox, sandbox.sandbox.discord
    alice = int(await sb.add_member("alice"))
    # Discord forgets an interaction not answered within 3 s (10062 Unknown interaction, a 404), e.g. after a pause.
    discord.add_fault("POST", CALLBACK, 404, 1, 0.2)
    try:
        first = await sb.command("owner", "kudos", member="alice", reason="for the review")
    except ControlError as exc:  # no answer reached the member
        assert "did not acknowledge" in str(exc.body), exc
    else:
        assert not [r for r in first["responses"] if not r.get("ephemeral")], "Discord refused the public answer"
    await sb.settle()
    assert kudos_rows(sb) == 1 and len(kudos_posts(sb, alice)) == 1, "the outbox made the post the answer could not"
    retry = await sb.command("owner", "kudos", member="alice", reason="for the review")
    answer = retry["responses"][0]
    assert answer["ephemeral"] and "already recorded" in answer["content"], answer
    await sb.settle()
    assert kudos_rows(sb) == 1 and len(kudos_posts(sb, alice)) == 1, "one kudos, one post"
    other = await sb.command("owner", "kudos", member="alice", reason="for the docs")
    assert other["responses"][0]["ephemeral"] is False and "2nd kudos" in str(other["responses"][0]["embeds"])
    await sb.settle()
    assert kudos_rows(sb) == 2 and len(kudos_posts(sb, alice)) == 2, "a new thanks is a new kudos, answered once"
    query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
    assert checks.exactly_once(discord, query) == []
    answered = query("SELECT result FROM outbox WHERE result LIKE '%interaction%'", ())
    assert [json.loads(row["result"])["message_id"] for row in answered] == [int(other["responses"][0]["id"])]
    assert discord.rest.faults[0].times == 0, "the fault was hit"
    checks.record(
        "Idempotent /kudos: the interaction answer refused (404 Unknown interaction), then the member runs it again",
        3,
        "1 kudos and 1 post (made by the outbox); the retry answered 'already recorded'; a new reason is a new kudos",
    )


async def test_a_recognition_answered_in_place_is_posted_once_when_its_answer_fails(sandbox: Any) -> None:
    sb, discord = sandbox, sandbox.sandbox.discord
    sb.sandbox.services.settings.discord.channels.kudos = None  # no kudos channel: the answer is the post
    bob = int(await sb.add_member("bob"))
    discord.add_fault("POST", CALLBACK, 404, 1, 0.2)
    link = "https://github.com/sandbox/project/wiki/Talk"
    try:
        await sb.command("owner", "recognize", member="bob", kind="talk", link=link)
    except ControlError as exc:  # no answer reached the maintainer
        assert "did not acknowledge" in str(exc.body), exc
    await sb.settle()
    query = file_query(sb.sandbox.workdir / "vestry.sqlite3")
    assert query("SELECT COUNT(*) AS n FROM recognitions", ())[0]["n"] == 1
    shown = [m for m in discord.world.messages.values() if f"<@{bob}>, thank you for your work" in m.content]
    assert len(shown) == 1 and shown[0].channel_id == discord.channel_id("general"), "the outbox made the post"
    answer = (await sb.command("owner", "recognize", member="bob", kind="doc", link=link))["responses"][0]
    assert answer["ephemeral"] is False and "Documentation" in answer["content"]
    await sb.settle()
    assert query("SELECT COUNT(*) AS n FROM recognitions", ())[0]["n"] == 2
    assert checks.exactly_once(discord, query) == []
