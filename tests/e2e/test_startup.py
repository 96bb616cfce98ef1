"""Start-up against the emulated Discord: a rejected token is one clear error, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import App, RunOptions, StartupError
from bot.clock import ManualClock
from bot.config import Secrets
from bot.sandbox.config import sandbox_settings
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.discord_wire import point_discord_py_at
from bot.sandbox.github_emulator import GitHubEmulator


async def test_rejected_discord_token_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    clock = ManualClock()
    discord, github = DiscordEmulator(clock=clock), GitHubEmulator(clock=clock)
    await discord.start()
    await github.start()
    point_discord_py_at(discord.api_base, discord.gateway_url)
    settings = sandbox_settings(discord, github.url, tmp_path / "v.sqlite3")
    secrets = Secrets(
        discord_token=SecretStr("not-the-token"),
        github_token=SecretStr(github.token),
        github_app_id=None,
        github_app_private_key_file=None,
        github_webhook_secret=SecretStr("a-webhook-secret"),
    )
    app = App(
        settings,
        secrets,
        clock,
        RunOptions(guild_ready_timeout=0.1, github_throttle=False, webhook_port=0, webhook_host="127.0.0.1"),
    )
    try:
        with pytest.raises(StartupError) as caught:
            await app.start()
        assert "rejected DISCORD_TOKEN" in str(caught.value)
        assert "\n" not in str(caught.value)
    finally:
        await app.stop()
        await github.stop()
        await discord.stop()
