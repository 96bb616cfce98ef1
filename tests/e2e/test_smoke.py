"""The sandbox end to end: the real bot over real sockets, driven through the control API."""

from __future__ import annotations

from typing import Any

import pytest

from bot.messages import OutMessage
from bot.outbox import enqueue_message
from bot.sandbox.client import ControlError


async def test_owner_sees_vestry_status(sandbox: Any) -> None:
    result = await sandbox.command("owner", "vestry status")
    (response,) = result["responses"]
    assert response["ephemeral"] is True
    embed = response["embeds"][0]
    assert embed["title"] == "Vestry status"
    assert "Uptime" in embed["description"] and "Jobs" in [field["name"] for field in embed["fields"]]


async def test_member_without_rights_gets_a_clear_permission_message(sandbox: Any) -> None:
    await sandbox.add_member("newcomer")
    result = await sandbox.command("newcomer", "vestry status")
    (response,) = result["responses"]
    assert response["ephemeral"] is True
    assert "Only maintainers" in response["content"]


async def test_joining_member_shows_up_in_state(sandbox: Any) -> None:
    member_id = await sandbox.add_member("alice")
    state = await sandbox.state()
    assert {"id": member_id, "name": "alice"}.items() <= next(
        m for m in state["members"] if m["name"] == "alice"
    ).items()
    assert {c["name"] for c in state["channels"]} >= {"general", "kudos", "reviews", "digest", "maintainers"}


async def test_dropped_gateway_is_resumed_and_commands_still_work(sandbox: Any) -> None:
    await sandbox.post("/discord/disconnect")
    result = await sandbox.command("owner", "vestry status")
    assert result["responses"][0]["embeds"][0]["title"] == "Vestry status"


async def post_through_outbox(sandbox: Any, key: str, text: str) -> None:
    services = sandbox.sandbox.services
    channel = (
        services.settings.discord.channels.general if hasattr(services.settings.discord.channels, "general") else None
    )
    channel = channel or sandbox.sandbox.discord.channel_id("general")
    async with services.db.transaction() as conn:
        await enqueue_message(conn, key, channel, OutMessage(text), now=services.clock.now())
    services.dispatcher.wake()


async def test_injected_429_on_posting_is_retried_and_the_message_arrives_once(sandbox: Any) -> None:
    await sandbox.post(
        "/discord/faults",
        {"method": "POST", "route": "/channels/{channel_id}/messages", "status": 429, "times": 2, "retry_after": 0.2},
    )
    await post_through_outbox(sandbox, "smoke:429", "hello after a rate limit")
    await sandbox.settle()
    texts = [m["content"] for m in await sandbox.messages("general")]
    assert texts.count("hello after a rate limit") == 1


async def test_unknown_command_is_a_404(sandbox: Any) -> None:
    with pytest.raises(ControlError) as caught:
        await sandbox.command("owner", "no-such-command")
    assert caught.value.status == 404


async def test_jobs_are_listed_and_settle_reports_done(sandbox: Any) -> None:
    jobs = await sandbox.get("/jobs")
    assert isinstance(jobs, list)
    assert (await sandbox.settle()) == {"settled": True}
