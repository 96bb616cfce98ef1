"""A hall of fame over a real, migrated database, served by the real web server through aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.config.models import HallOfFameSettings
from bot.db import Database
from bot.services.halloffame import HallOfFame
from bot.web import Metrics, WebServer
from bot.web.hof import HallOfFameSite

GUILD = 1
REPOS = ["acme/rocket", "acme/docs"]
TIERS = ["Follower", "Priest in training", "Priest"]


class Ledger:
    """Write ledger rows directly, as the ledger would have recorded them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.numbers = 0

    async def user(self, github_id: int, login: str, *, is_bot: bool = False, ignored: bool = False) -> int:
        await self.db.execute(
            "INSERT INTO github_users(id, login, is_bot, ignored, avatar_url, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (github_id, login, int(is_bot), int(ignored), f"https://avatars.githubusercontent.com/u/{github_id}", "x"),
        )
        return github_id

    async def merged(
        self,
        author: int,
        title: str = "A change",
        *,
        at: str = "2026-01-01",
        repo: str = REPOS[0],
        by: int | None = None,
    ) -> int:
        self.numbers += 1
        await self.db.execute(
            "INSERT INTO pull_requests(repo, number, title, url, author_id, state, merged_at, merged_by_id) "
            "VALUES (?, ?, ?, ?, ?, 'merged', ?, ?)",
            (
                repo,
                self.numbers,
                title,
                f"https://github.com/{repo}/pull/{self.numbers}",
                author,
                f"{at}T10:00:00.000000Z",
                by,
            ),
        )
        return self.numbers

    async def review(self, reviewer: int, *, at: str = "2026-01-02", repo: str = REPOS[0]) -> None:
        self.numbers += 1
        await self.db.execute(
            "INSERT INTO reviews(id, repo, number, reviewer_id, state, submitted_at) "
            "VALUES (?, ?, 1, ?, 'APPROVED', ?)",
            (self.numbers, repo, reviewer, f"{at}T10:00:00.000000Z"),
        )

    async def link(self, discord_id: int, github_id: int, login: str) -> None:
        await self.db.execute(
            "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) "
            "VALUES (?, ?, ?, ?, 'test', 'x')",
            (GUILD, discord_id, github_id, login),
        )

    async def recognise(self, discord_id: int, kind: str) -> None:
        await self.db.execute(
            "INSERT INTO recognitions(guild_id, member_id, kind, link, by_id, at) "
            "VALUES (?, ?, ?, 'https://x', 9, 'x')",
            (GUILD, discord_id, kind),
        )

    async def kudos(self, discord_id: int, reason: str = "thanks") -> None:
        await self.db.execute(
            "INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, reason, at) VALUES (?, 9, ?, ?, 'x')",
            (GUILD, discord_id, reason),
        )

    async def tier(self, discord_id: int, tier: str) -> None:
        await self.db.execute(
            "INSERT INTO tier_grants(guild_id, discord_id, tier, granted_at) VALUES (?, ?, ?, 'x')",
            (GUILD, discord_id, tier),
        )


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return Ledger(db)


@pytest.fixture
def hall(db: Database, clock: ManualClock) -> HallOfFame:
    return HallOfFame(db, clock, guild_id=GUILD, repositories=REPOS, tiers=TIERS, refresh_every=timedelta(0))


@pytest.fixture
async def web(db: Database, hall: HallOfFame) -> AsyncIterator[Any]:
    """A test client of the bot's web server with the hall of fame on."""
    site = HallOfFameSite(hall, HallOfFameSettings(project_name="Rocket"), "https://github.com")
    server = WebServer(db, Metrics(), site=site)
    async with TestClient(TestServer(server.app())) as client:
        yield client
