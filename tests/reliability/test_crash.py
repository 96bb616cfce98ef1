"""Crash consistency: SIGKILL the bot at random moments while merges, reviews and links stream in.

The emulators live in this process and the bot in a child process, so Discord's posts and roles and GitHub's
state survive every kill. Webhooks sent while the bot is dead fail (GitHub does not redeliver); the start-up
catch-up must recover them. After the last restart and a settle, every first PR is announced exactly once,
every earned role is granted, and nothing is on Discord twice.

Each seed kills once the moment Discord stores a post (before the bot hears back) and restarts more than 10
minutes later on the sandbox clock, past Discord's nonce window, as do about half its other restarts: a post is
never sent twice, because the outbox looks for a possibly sent post before sending it again.

``VESTRY_CRASH_RUNS`` sets how many seeds run (3 by default; docs/reliability.md records a 20+ run).
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.github.spool import folder_for
from tests.reliability import checks
from tests.reliability.harness import REPO, WEBHOOK_SECRET, BotHandle, emulators

RUNS = int(os.environ.get("VESTRY_CRASH_RUNS", "3"))
FIRST_SEED = int(os.environ.get("VESTRY_CRASH_SEED", "1000"))
CONTRIBUTORS = [f"dev{i}" for i in range(6)]
BOT_ACCOUNT = "helperbot"
LINKED = {f"m{i}": f"dev{i}" for i in range(4)} | {"keeper": "maintainer"}
LONG_PAUSE = 660.0  # seconds of sandbox clock: more than 10 minutes, past Discord's nonce window (a few minutes)


@dataclass
class Run:
    """One seeded run: the stream of GitHub changes and links, and the kills made meanwhile."""

    seed: int
    rng: random.Random
    bot: BotHandle
    open_pulls: list[tuple[int, str]] = field(default_factory=list)
    pending_links: list[str] = field(default_factory=list)
    ops: int = 0
    failed_webhooks: int = 0
    long_pauses: int = 0
    kills_after_post: int = 0

    async def link(self, member: str) -> bool:
        """Link a member as the owner would; False when the bot was (being) killed meanwhile."""
        if not self.bot.alive:
            return False
        try:
            result = await self.bot.discord.invoke_command(
                "owner", "vestry link", {"member": member, "github": LINKED[member]}, timeout=8
            )
        except TimeoutError:
            return False
        return bool(result["responses"])

    async def step(self) -> None:
        """Make one random change."""
        github, rng = self.bot.github, self.rng
        roll = rng.random()
        if self.pending_links and roll < 0.12:
            member = self.pending_links.pop(0)
            if not await self.link(member):
                self.pending_links.append(member)
        elif roll < 0.45 or not self.open_pulls:
            author = rng.choice([*CONTRIBUTORS, BOT_ACCOUNT])
            created = await github.open_pull(REPO, author, f"Change {self.ops} by {author}")
            self.open_pulls.append((int(created["number"]), author))
        elif roll < 0.8:
            number, author = self.open_pulls.pop(rng.randrange(len(self.open_pulls)))
            others = [login for login in CONTRIBUTORS if login != author]
            by = "maintainer" if rng.random() < 0.6 else rng.choice(others)
            await github.merge_pull(REPO, number, by)
        else:
            number, author = rng.choice(self.open_pulls)
            reviewer = rng.choice([login for login in [*CONTRIBUTORS, "maintainer"] if login != author])
            await github.submit_review(REPO, number, reviewer, rng.choice(["APPROVED", "COMMENTED"]))
        self.ops += 1

    async def chaos(self, kills: int) -> None:
        """Kill the bot at random moments (start-up catch-up included) and restart it on the same database.

        The first kill comes the moment Discord stores a post, before the bot hears back; that restart, and about
        half the others, come more than 10 minutes later on the sandbox clock, past Discord's nonce window.
        """
        for index in range(kills):
            if index == 0:
                await self.kill_after_next_post(timeout=self.rng.uniform(2, 6))
            else:
                await asyncio.sleep(self.rng.uniform(0.05, 1.5))
                self.bot.kill()
            await self.bot.wait_dead()
            await asyncio.sleep(self.rng.uniform(0.1, 0.8))
            if index == 0 or self.rng.random() < 0.5:
                self.bot.clock.advance(self.rng.uniform(LONG_PAUSE, 6 * LONG_PAUSE))
                self.long_pauses += 1
            await self.bot.start()

    async def kill_after_next_post(self, timeout: float) -> None:
        """SIGKILL the bot right after Discord stores its next post (or after ``timeout`` if none comes)."""
        world = self.bot.discord.world
        store, stored = world.store_message, asyncio.Event()

        def store_then_kill(message: Any) -> None:
            store(message)
            if message.author_id == world.bot_user_id and message.interaction is None and not stored.is_set():
                self.bot.kill()
                stored.set()

        world.store_message = store_then_kill
        try:
            await asyncio.wait_for(stored.wait(), timeout)
            self.kills_after_post += 1
        except TimeoutError:
            self.bot.kill()
        finally:
            del world.store_message


async def crash_run(seed: int, workdir: Path) -> tuple[list[str], dict[str, int]]:
    """Play one seed; return the broken invariants and the run's figures."""
    async with emulators() as (discord, github):
        for login in CONTRIBUTORS:
            await github.create_user(login, deliver=False)
        await github.create_user(BOT_ACCOUNT, "Bot", deliver=False)
        for member in LINKED:
            await discord.add_member(member)
        bot = BotHandle(workdir, discord, github)
        run = Run(seed, random.Random(seed), bot, pending_links=list(LINKED))
        await bot.start()
        await asyncio.sleep(1.1)  # GitHub's times have whole seconds: changes land after go-live's second
        try:
            chaos = asyncio.create_task(run.chaos(kills=run.rng.randint(2, 4)))
            while not chaos.done() or run.ops < 40:
                await run.step()
                await asyncio.sleep(run.rng.uniform(0, 0.05))
            await chaos
            for member in list(run.pending_links):
                assert await run.link(member), f"seed {seed}: could not link {member}"
            await bot.settle()
            query = bot.query
            problems = [
                *checks.exactly_once(discord, query),
                *checks.first_prs_announced_once(discord, github, query, REPO, bots=[BOT_ACCOUNT]),
                *checks.ladder_roles_granted(discord, github, REPO, LINKED),
                *checks.ledger_matches_github(github, query, REPO),
                *checks.processing_complete(query, folder_for(str(bot.db_path))),
            ]
            secrets = {"DISCORD_TOKEN": discord.token, "GITHUB_TOKEN": github.token, "webhook secret": WEBHOOK_SECRET}
            files = [bot.log_path, *workdir.glob("vestry.sqlite3*")]
            problems += checks.no_secrets(files, secrets)
        finally:
            code = await bot.stop()
        failed = sum(1 for delivery in github.deliveries if delivery["error"])
        found = bot.log_path.read_text(errors="replace").count("was already posted; not posting it again")
        figures = {
            "ops": run.ops,
            "kills": bot.kills,
            "kills_just_after_a_post": run.kills_after_post,
            "restarts_over_10_min_later": run.long_pauses,
            "posts_found_not_resent": found,
            "lost_webhooks": failed,
            "posts": len(checks.bot_posts(discord)),
            "first_prs": len([a for a in checks.merged_authors(github, REPO) if a != BOT_ACCOUNT]),
        }
        if code != 0:
            problems.append(f"the bot did not stop cleanly after the run: exit {code}")
        return [f"seed {seed}: {p}" for p in problems], figures


@pytest.mark.slow
@pytest.mark.timeout(60 + 45 * RUNS)
async def test_sigkill_at_random_moments_loses_and_doubles_nothing(tmp_path: Path) -> None:
    problems: list[str] = []
    totals: dict[str, int] = {}
    for seed in range(FIRST_SEED, FIRST_SEED + RUNS):
        workdir = tmp_path / f"seed-{seed}"
        workdir.mkdir()
        found, figures = await crash_run(seed, workdir)
        problems += found
        for key, value in figures.items():
            totals[key] = totals.get(key, 0) + value
    checks.record(
        "crash consistency (SIGKILL, restart, catch-up)",
        RUNS,
        "no lost or doubled post, every first PR announced once, every earned role granted"
        if not problems
        else f"{len(problems)} problems",
        **totals,
    )
    assert not problems, "\n".join(problems)
    assert totals["kills"] >= 2 * RUNS and totals["lost_webhooks"] > 0  # the faults really happened
    assert totals["restarts_over_10_min_later"] >= RUNS


async def test_a_bot_on_webhooks_still_has_a_poller_and_catches_up_at_start(sandbox: Any) -> None:
    app = sandbox.sandbox.app
    assert app.services.webhooks is not None, "this sandbox runs on webhooks"
    assert app.services.poller is not None, "catch-up needs a poller even when webhooks are on"
    assert app.catch_up_task is not None
    await app.catch_up_task
    assert app.services.poller.last_report is not None, "the start-up catch-up polled GitHub"
