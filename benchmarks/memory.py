"""memory: peak RSS of the bot with the ``queries`` data and a 50,000-member guild in the Discord emulator.

The emulators run in this process; the bot runs alone in a child process (``benchmarks/botproc.py``), so its
resident set is its own. Its database is the ``queries`` dataset (a million ledger rows, every one of the 50,000
guild members linked). Once it is ready it serves a realistic hour: slash commands (/profile, /rank,
/leaderboard week and all time, /digest preview with its chart) from random members, merges delivered as
webhooks and celebrated in the kudos channel, and one hourly role reconcile over all 50,000 linked members.
The peak (``VmHWM``) is read from ``/proc`` at the end. It runs without the privileged members intent (the
default) and with it.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import dataset
from benchmarks.common import HEAVY, ROOT, Measure, Report, rss_kib
from bot.clock import ManualClock
from bot.sandbox.config import sandbox_settings
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.github_emulator import GitHubEmulator
from bot.sandbox.runner import WEBHOOK_SECRET

TARGET_MB = 100  # decimal megabytes, as the target is written (100 MB = 95.4 MiB)


@dataclass
class Options:
    """Sizes of one memory run."""

    rows: int = 1_000_000
    members: int = 50_000
    guild: int = 50_000
    commands: int = 40
    merges: int = 100
    reconcile: bool = True  # in the first run only (without the intent): 500 gateway requests, paced, ~4 minutes
    intents: tuple[bool, ...] = (False, True)
    hall_of_fame: bool = False  # the public pages (Jinja2 and the table's pages), off by default as in config


@dataclass
class World:
    """The emulators, the guild's member names, and the data every run starts from."""

    discord: DiscordEmulator
    github: GitHubEmulator
    names: list[str]
    folder: Path
    source: Path


class Bot:
    """The bot's process: start it, send it commands, read its memory."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, config: dict[str, Any], log: Path) -> tuple[Bot, dict[str, Any]]:
        """Start the bot and wait for its ready line."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.botproc",
            json.dumps(config),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log.open("wb"),
        )
        bot = cls(proc)
        return bot, await bot.read(timeout=180)

    async def read(self, timeout: float) -> dict[str, Any]:
        """Read the bot's next JSON line."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"the bot process ended (exit code {await self.proc.wait()})")
        return dict(json.loads(line))

    async def send(self, command: str) -> None:
        """Send one command line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    def memory(self) -> tuple[int, int]:
        """Return the bot's current and peak RSS in KiB."""
        return rss_kib(self.proc.pid)

    async def stop(self) -> int:
        """Ask the bot to stop and wait for it."""
        if self.proc.returncode is None:
            await self.send("stop")
            try:
                return await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
        return await self.proc.wait()


async def _workload(discord: DiscordEmulator, github: GitHubEmulator, names: list[str], opts: Options) -> int:
    """Drive commands and merges; return how many commands were answered."""
    rng = random.Random(5)
    answered = 0
    commands = [("profile", {}), ("rank", {}), ("leaderboard", {"period": "week"}), ("leaderboard", {"period": "all"})]
    for index in range(opts.commands):
        name, options = commands[index % len(commands)]
        result = await discord.invoke_command(names[rng.randrange(len(names))], name, options, timeout=60)
        answered += bool(result["responses"])
    preview = await discord.invoke_command("owner", "digest preview", {}, timeout=60)
    answered += bool(preview["responses"])
    for index in range(opts.merges):
        login = f"newcomer{index:04d}"
        number = (await github.open_pull("sandbox/project", login, f"First change {index}"))["number"]
        await github.merge_pull("sandbox/project", number, "maintainer")
    return answered


async def _posts_settle(discord: DiscordEmulator, timeout: float = 60) -> int:
    """Wait until the kudos channel stops growing; return how many posts it has."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        count = len(discord.messages("kudos"))
        if count == last:
            return count
        last = count
        await asyncio.sleep(1.0)
    return last


async def one_run(world: World, intent: bool, reconcile: bool, opts: Options) -> dict[str, Any]:
    """Run the bot on a copy of the data, with or without the members intent; return its memory figures."""
    discord, github = world.discord, world.github
    path = world.folder / f"bot-{intent}.sqlite3"
    shutil.copyfile(world.source, path)
    # The default configuration: the hall of fame's public pages are off unless an operator turns them on (the
    # sandbox turns them on for its demo); ``hall-of-fame`` measures them.
    overrides = {"discord": {"members_intent": intent}, "hall_of_fame": {"enabled": opts.hall_of_fame}}
    settings = sandbox_settings(discord, github.url, path, overrides=overrides)
    config = {
        "settings": settings.model_dump(mode="json"),
        "discord_api": discord.api_base,
        "gateway": discord.gateway_url,
        "discord_token": discord.token,
        "github_token": github.token,
        "webhook_secret": WEBHOOK_SECRET,
    }
    bot, ready = await Bot.start(config, world.folder / f"bot-{intent}.log")
    try:
        github.set_webhook(ready["webhook"], WEBHOOK_SECRET)
        answered = await _workload(discord, github, world.names, opts)
        posts = await _posts_settle(discord)
        job = None
        if reconcile:
            await bot.send("job ladder.reconcile")
            job = await bot.read(timeout=900)
        await bot.send("rss")
        loaded = (await bot.read(timeout=60))["loaded"]
        current, peak = bot.memory()
    finally:
        github.set_webhook(None, None)
        code = await bot.stop()
    return {
        "intent": intent,
        "ready_rss_mib": ready["rss_kib"] / 1024,
        "rss_mib": current / 1024,
        "peak_mib": peak / 1024,
        "commands_answered": answered,
        "kudos_posts": posts,
        "reconcile": job,
        "loaded": loaded,
        "exit_code": code,
    }


async def run(opts: Options | None = None) -> Report:
    """Run the memory benchmark."""
    opts = opts or Options()
    report = Report("memory", params={k: list(v) if isinstance(v, tuple) else v for k, v in opts.__dict__.items()})
    clock = ManualClock()
    discord = DiscordEmulator(clock=clock)
    github = GitHubEmulator(clock=clock)
    await discord.start()
    await github.start()
    results = []
    try:
        await github.create_repo("sandbox/project", deliver=False)
        await github.create_user("maintainer", deliver=False)
        names = [f"member{index:05d}" for index in range(opts.guild)]
        await discord.add_members_bulk(names)
        ids = [discord.member_id(name) for name in names[: opts.members]]
        with tempfile.TemporaryDirectory(prefix="vestry-bench-memory-") as folder:
            source = Path(folder) / "data.sqlite3"
            await dataset.build(
                source,
                now=datetime.now(UTC),  # the bot runs on the system clock: this week's digest has a chart to draw
                guild_id=discord.guild_id,
                discord_ids=ids,
                shape=dataset.Shape(rows=opts.rows, members=len(ids)),
            )
            for member, tier in dataset.granted(source):
                await discord.add_role(member, tier)  # Discord agrees with Vestry's record, as in a steady state
            world = World(discord, github, names, Path(folder), source)
            for index, intent in enumerate(opts.intents):
                results.append(await one_run(world, intent, opts.reconcile and index == 0, opts))
    finally:
        await github.stop()
        await discord.stop()
    report.raw = {"runs": results}
    for result in results:
        label = "with" if result["intent"] else "without"
        reconcile = result["reconcile"]
        done = f", reconcile of {opts.members:,} members in {reconcile['seconds']:.0f} s" if reconcile else ""
        peak_mb = result["peak_mib"] * 1024 * 1024 / 1e6
        report.add(
            Measure(
                f"peak RSS {label} the members intent",
                "MB",
                peak_mb,
                target=f"≤ {TARGET_MB} MB",
                met=peak_mb <= TARGET_MB,
                note=f"{result['peak_mib']:.0f} MiB; {result['ready_rss_mib']:.0f} MiB once ready{done}",
            )
        )
        report.notes.append(
            f"{label} the intent: {result['commands_answered']}/{opts.commands + 1} commands answered, "
            f"{result['kudos_posts']} kudos posts, reconcile {reconcile}, exit code {result['exit_code']}, "
            f"heavy modules imported by the bot (of {', '.join(HEAVY)}): {', '.join(result['loaded']) or 'none'}"
        )
    return report
