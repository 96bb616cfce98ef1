"""Fatal gateway closes end the bot process with a non-zero status and one line saying what to do.

The bot runs as a child process (as a service manager runs it) against the emulators in this process; the
emulator closes the gateway as Discord would. A transient close resumes and the process keeps serving.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.reliability.harness import BotHandle, emulators

pytestmark = pytest.mark.timeout(120)


async def _exit_after_close(tmp_path: Path, code: int, **options: object) -> tuple[int | None, str]:
    async with emulators() as (discord, github):
        bot = BotHandle(tmp_path, discord, github, **options)
        await bot.start()
        assert await discord.close_gateway(code) == 1
        assert bot.process is not None
        try:
            status = await asyncio.wait_for(bot.process.wait(), 30)
        finally:
            await bot.stop()
        return status, bot.log_path.read_text(errors="replace")


async def test_token_reset_4004_exits_non_zero_with_the_fix(tmp_path: Path) -> None:
    status, log = await _exit_after_close(tmp_path, 4004)
    assert status == 3
    (last,) = [line for line in log.splitlines() if line.startswith("vestry: ")]
    assert "4004" in last and "Reset Token" in last and "DISCORD_TOKEN" in last


async def test_disallowed_intent_4014_exits_non_zero_with_the_fix(tmp_path: Path) -> None:
    status, log = await _exit_after_close(tmp_path, 4014)
    assert status == 3
    (last,) = [line for line in log.splitlines() if line.startswith("vestry: ")]
    assert "4014" in last and "Server Members Intent" in last and "members_intent = false" in last


async def test_members_intent_not_enabled_for_the_app_stops_start_up_with_the_fix(tmp_path: Path) -> None:
    async with emulators() as (discord, github):
        discord.world.privileged_intents = 0  # the Developer Portal switch is off
        bot = BotHandle(tmp_path, discord, github, overrides={"discord": {"members_intent": True}})
        with pytest.raises(RuntimeError, match="exited with 2") as failed:  # a start-up failure, as `vestry run`
            await bot.start()
        assert "4014" in str(failed.value) and "members_intent = false" in str(failed.value)
        assert discord.gateway.closes == [4014]


async def test_transient_close_resumes_and_keeps_serving(tmp_path: Path) -> None:
    async with emulators() as (discord, github):
        bot = BotHandle(tmp_path, discord, github)
        await bot.start()
        sessions = set(discord.gateway.sessions)
        assert await discord.close_gateway(1001) == 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not discord.gateway.connections or not any(
            s.connection is not None for s in discord.gateway.sessions.values()
        ):
            assert loop.time() < deadline, bot.log_tail()
            await asyncio.sleep(0.1)
        assert set(discord.gateway.sessions) == sessions  # the same session, resumed
        assert bot.alive
        assert await bot.stop() == 0
        assert discord.rejections() == []


async def test_an_event_the_library_cannot_read_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    async with emulators() as (discord, github):
        bot = BotHandle(tmp_path, discord, github)
        await bot.start()
        discord.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(discord.guild_id), "role": {"id": "x"}})
        assert bot.process is not None
        try:
            status = await asyncio.wait_for(bot.process.wait(), 30)
        finally:
            await bot.stop()
        log = bot.log_path.read_text(errors="replace")
    assert status == 3
    (last,) = [line for line in log.splitlines() if line.startswith("vestry: ")]
    assert "could not handle" in last and "start Vestry again" in last
