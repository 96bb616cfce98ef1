"""Buttons under posts outlive the bot: a click on one Vestry can no longer read gets a clear answer, not
"This interaction failed"."""

from __future__ import annotations

from typing import Any

from bot.messages import Button, OutMessage
from bot.outbox import enqueue_message

STALE = {
    "nudge:later:user:1": "This button is from an older version of Vestry; use /reviews to see the queue.",
    "lb:merged_prs:all:two": "That leaderboard button is out of date; run /leaderboard again.",
    "ladder:approve:": "That button is out of date.",
    "link:claim:x": "This button is broken; use `/link` instead.",
}


async def post_old_buttons(sb: Any) -> dict[str, Any]:
    """Have the bot post, through its outbox as any post, a message carrying ids no kind reads any more."""
    services = sb.sandbox.services
    buttons = tuple(Button(f"Old {n}", custom_id=custom_id) for n, custom_id in enumerate(STALE))
    channel = services.settings.discord.channels.kudos
    async with services.db.transaction() as conn:
        await enqueue_message(
            conn,
            "test:old-buttons",
            channel,
            OutMessage(content="From an older Vestry", buttons=buttons),
            now=sb.sandbox.clock.now(),
        )
    await sb.settle()
    (post,) = [m for m in await sb.messages("kudos") if m["content"] == "From an older Vestry"]
    return post


async def test_a_click_on_an_out_of_date_button_says_what_to_use_instead(sandbox: Any) -> None:
    post = await post_old_buttons(sandbox)
    await sandbox.add_member("alice")
    for custom_id, expected in STALE.items():
        result = await sandbox.click("alice", post["id"], custom_id)
        (answer,) = result["responses"]
        assert answer["ephemeral"] is True and answer["content"] == expected, custom_id
