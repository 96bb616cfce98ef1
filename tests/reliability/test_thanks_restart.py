"""A thanks form opened before the bot restarted and submitted after it still records the kudos, once."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.harness import BotHandle, emulators


async def test_a_thanks_form_submitted_after_a_restart_is_recorded_and_posted(tmp_path: Path) -> None:
    async with emulators() as (discord, github):
        alice = await discord.add_member("alice")
        bob = await discord.add_member("bob")
        bot = BotHandle(tmp_path, discord, github)
        await bot.start()
        try:
            opened = await discord.invoke_menu("bob", "Give kudos", member="alice")
            (answer,) = opened["responses"]
            modal = answer["modal"]
            assert modal["custom_id"] == f"thanks:{alice}"
            bot.kill()
            await bot.wait_dead()
            await bot.start()
            (field,) = modal["fields"]
            submitted = await discord.submit_modal(
                "bob", opened["interaction"], modal["custom_id"], {field["custom_id"]: "Reviewed my first PR"}
            )
            (post,) = submitted["responses"]
            assert f"<@{alice}>" in post["content"] and "says thank you" in post["content"], post
            await bot.settle()
            rows = bot.query("SELECT giver_id, receiver_id, reason FROM peer_kudos")
            assert [tuple(row) for row in rows] == [(bob, alice, "Reviewed my first PR")]
        finally:
            assert await bot.stop() == 0
        assert discord.rejections() == []
