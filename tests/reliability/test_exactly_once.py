"""Exactly-once without trusting Discord's nonce window (issue 18, item 2).

The bot runs in a child process (``harness.BotHandle``) so it can be SIGKILLed at the worst moment: right after
Discord stored its post and before the bot heard back. Discord (the emulator, like the real one) remembers a nonce
for a few minutes only, and the bot comes back an hour later on the sandbox clock. A backup restored under a
running community reuses row ids, so nonces must not be built from them.

The first two tests fail on the main branch before this change (checked by running them against it): its
dispatcher sent the post again with the same nonce ``v<row id>`` after the restart, which Discord had forgotten
(2 posts), and after the restore the new post carried the nonce of an old one and Discord answered with the old
message (0 posts). The third guards the /kudos answer, which main did not record in the outbox at all.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.reliability import checks
from tests.reliability.harness import REPO, BotHandle, emulators

HOUR = 3600.0


def bot_post(world: Any, message: Any) -> bool:
    return bool(message.author_id == world.bot_user_id and message.interaction is None and message.webhook_id is None)


async def wait_for(condition: Any, guard: float = 30.0) -> None:
    """Wait (wall time, a guard only) until ``condition()`` holds."""
    deadline = time.monotonic() + guard
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_post_stored_by_discord_just_before_a_sigkill_is_not_posted_again_an_hour_later(
    tmp_path: Path,
) -> None:
    async with emulators() as (discord, github):
        await github.create_user("ann", deliver=False)
        bot = BotHandle(tmp_path, discord, github)
        await bot.start()
        await asyncio.sleep(1.1)  # GitHub's times have whole seconds: changes land after go-live's second
        world, killed = discord.world, []
        store = world.store_message

        def store_then_kill(message: Any) -> None:
            store(message)  # Discord has the post; the bot dies before it reads the answer
            if bot_post(world, message) and not killed:
                killed.append(message)
                bot.kill()

        world.store_message = store_then_kill
        try:
            number = int((await github.open_pull(REPO, "ann", "First change"))["number"])
            await github.merge_pull(REPO, number, "maintainer")
            await wait_for(lambda: bool(killed))
            await bot.wait_dead()
        finally:
            del world.store_message
        bot.clock.advance(HOUR)  # far past Discord's nonce window
        try:
            await bot.start()
            await bot.settle()
        finally:
            assert await bot.stop() == 0
        same = [m for m in checks.bot_posts(discord) if m.nonce == killed[0].nonce and not m.deleted]
        assert len(same) == 1, f"the post is on Discord {len(same)} times"
        assert checks.exactly_once(discord, bot.query) == []
        found = bot.query("SELECT COUNT(*) AS n FROM outbox WHERE result LIKE ?", (f"%{killed[0].id}%",))
        assert found[0]["n"] == 1, "the restarted bot recorded the post it found as the row's own"
    checks.record(
        "Exactly once past the nonce window: SIGKILL just after Discord stored a post, restart 1 h later",
        1,
        "the post was found in its channel and recorded, not sent again (1 post)",
    )


async def test_new_posts_after_a_restore_are_not_taken_for_old_ones(tmp_path: Path) -> None:
    async with emulators() as (discord, github):
        for name in ("ann", "ben"):
            await discord.add_member(name)
        bot = BotHandle(tmp_path, discord, github)
        await bot.start()
        backup = tmp_path / "backup.sqlite3"
        link = "https://github.com/sandbox/project/wiki/"
        try:
            with sqlite3.connect(bot.db_path) as live, sqlite3.connect(backup) as copy:
                live.backup(copy)
            await discord.invoke_command("owner", "recognize", {"member": "ann", "kind": "doc", "link": link + "a"})
            await bot.settle()
            assert await bot.stop() == 0
            for suffix in ("", "-wal", "-shm"):  # restore as docs/reliability.md says
                Path(f"{bot.db_path}{suffix}").unlink(missing_ok=True)
            backup.replace(bot.db_path)
            await bot.start()
            await discord.invoke_command("owner", "recognize", {"member": "ben", "kind": "talk", "link": link + "b"})
            await bot.settle()
        finally:
            await bot.stop()
        kudos = discord.channel_id("kudos")
        shown = [m.content for m in checks.bot_posts(discord) if m.channel_id == kudos and not m.deleted]
        ann, ben = discord.member_id("ann"), discord.member_id("ben")
        assert [f"<@{ann}>" in text for text in shown] == [True, False], shown
        assert len(shown) == 2 and f"<@{ben}>" in shown[1], "the new post went out, not swallowed as the old one"
    checks.record(
        "Nonces across a restore: a backup restored, then a new post reusing an old row id",
        1,
        "the new post went out (nonces are random per row, not row ids)",
    )


async def test_a_kudos_answered_just_before_a_sigkill_is_not_posted_again_by_the_outbox(tmp_path: Path) -> None:
    """The /kudos answer reached Discord, the bot died before recording it: after the restart the outbox finds
    the answer in the channel (no nonce: by its text, claimed by no other row) and posts nothing more."""
    async with emulators() as (discord, github):
        alice = await discord.add_member("alice")
        bot = BotHandle(tmp_path, discord, github)
        await bot.start()
        world, killed = discord.world, []
        store = world.store_message

        def store_then_kill(message: Any) -> None:
            store(message)
            if message.interaction is not None and not killed:  # the public answer of /kudos
                killed.append(message)
                bot.kill()

        world.store_message = store_then_kill
        try:
            await discord.invoke_command("owner", "kudos", {"member": "alice", "reason": "for the review"}, timeout=8)
            await wait_for(lambda: bool(killed))
            await bot.wait_dead()
        finally:
            del world.store_message
        bot.clock.advance(HOUR)
        try:
            await bot.start()
            await bot.settle()
        finally:
            assert await bot.stop() == 0
        thanks = [m for m in world.messages.values() if f"<@{alice}>, " in m.content and not m.deleted]
        assert [m.id for m in thanks] == [killed[0].id], f"{len(thanks)} kudos messages on Discord"
        row = bot.query("SELECT done_at, result FROM outbox WHERE dedupe_key LIKE 'kudos:%'")
        assert len(row) == 1 and row[0]["done_at"] and str(killed[0].id) in row[0]["result"]
        assert bot.query("SELECT COUNT(*) AS n FROM peer_kudos")[0]["n"] == 1
    checks.record(
        "Exactly once for a /kudos answer: SIGKILL just after Discord stored the answer, restart 1 h later",
        1,
        "the answer was found in its channel by its text and recorded; 1 kudos, 1 message",
    )
