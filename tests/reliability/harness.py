"""The crash harness: both emulators in the test process, the real bot in a child process that a test can SIGKILL.

The emulators outlive the bot, so what Discord shows (posts, roles) and what GitHub holds (pull requests, reviews,
and the webhooks that failed while the bot was dead) can be checked after any number of kills and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bot.clock import ManualClock
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.github_emulator import GitHubEmulator
from bot.sandbox.process import settings_data, write_settings

WEBHOOK_SECRET = "crash-harness-webhook-secret"
REPO = "sandbox/project"


def free_port() -> int:
    """Pick a loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotHandle:
    """Start, kill and restart the bot process on the same database."""

    def __init__(self, workdir: Path, discord: DiscordEmulator, github: GitHubEmulator, **options: Any) -> None:
        self.workdir = workdir
        self.discord = discord
        self.github = github
        self.webhook_port = free_port()
        data = settings_data(discord, github.url, workdir, webhook_port=self.webhook_port, **options)
        self.settings_file = write_settings(workdir / "settings.json", data)
        self.db_path = Path(data["database"]["path"])
        self.log_path = workdir / "bot.log"
        self.ready_file = workdir / "ready.json"
        self.process: asyncio.subprocess.Process | None = None
        self.control_url = ""
        self._session: aiohttp.ClientSession | None = None
        self.starts = 0
        self.kills = 0
        github.set_webhook(f"http://127.0.0.1:{self.webhook_port}/github/webhook", WEBHOOK_SECRET)

    @property
    def clock(self) -> ManualClock:
        """The emulators' clock, which the bot process follows (a test moves it ahead, e.g. across a long pause)."""
        clock = self.discord.world.clock
        assert isinstance(clock, ManualClock)
        return clock

    @property
    def alive(self) -> bool:
        """Tell whether the bot process is running."""
        return self.process is not None and self.process.returncode is None

    def environment(self) -> dict[str, str]:
        """The process environment: secrets exactly as an operator sets them."""
        env = dict(os.environ)
        env.update(
            DISCORD_TOKEN=self.discord.token,
            GITHUB_TOKEN=self.github.token,
            GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
            VESTRY_LOG_LEVEL="INFO",
        )
        return env

    async def start(self, timeout: float = 30) -> None:
        """Start the bot and wait for its ready file."""
        self.ready_file.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.sandbox.process",
                "--settings",
                str(self.settings_file),
                "--discord-url",
                self.discord.url,
                "--ready-file",
                str(self.ready_file),
                "--clock-offset",
                str(self.clock.offset_seconds),
                stdout=log,
                stderr=log,
                env=self.environment(),
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.ready_file.exists():
            if self.process.returncode is not None:
                raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{self.log_tail()}")
            if loop.time() > deadline:
                raise TimeoutError(f"the bot did not become ready:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        self.control_url = json.loads(self.ready_file.read_text())["control"]
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL the bot: no clean-up of any kind runs."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.kills += 1

    async def wait_dead(self) -> None:
        """Wait until the killed process is gone."""
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> int | None:
        """Stop the bot cleanly (SIGTERM), or kill it if it does not stop."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode

    async def control(self, method: str, path: str, timeout: float = 60, **params: str) -> Any:
        """Call the bot's control API."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            method, self.control_url + path, params=params, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise AssertionError(f"{method} {path}: {response.status} {data}")
            return data

    async def settle(self, timeout: float = 45) -> None:
        """Wait for start-up catch-up, webhooks, events and the outbox."""
        await self.control("POST", "/settle", timeout=timeout + 15, wait=str(timeout))

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the bot logged."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read the bot's database from outside (read-only; WAL lets us read while it writes)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()


@contextlib.asynccontextmanager
async def emulators() -> AsyncIterator[tuple[DiscordEmulator, GitHubEmulator]]:
    """Both emulators on one sandbox clock (the bot process follows it), with the default world."""
    clock = ManualClock()
    discord = DiscordEmulator(clock=clock, rate_limits="fast")
    github = GitHubEmulator(clock=clock)
    await discord.start()
    await github.start()
    try:
        await github.create_repo(REPO, deliver=False)
        await github.create_user("maintainer", deliver=False)
        yield discord, github
    finally:
        await github.stop()
        await discord.stop()
