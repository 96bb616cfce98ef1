"""The composition root: build settings, database, clock, GitHub adapter, scheduler and services; run the bot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import discord

from bot.clock import Clock, SystemClock
from bot.config import Secrets, Settings
from bot.db import Database
from bot.events import EventBus
from bot.github.webhooks import Metrics, WebhookReceiver
from bot.jobs import Jobs
from bot.ledger import Ledger
from bot.outbox import Dispatcher

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Vestry cannot start; the message says why in one line."""


@dataclass
class Services:
    """Everything the cogs use, built once and handed to the bot."""

    settings: Settings
    secrets: Secrets
    db: Database
    clock: Clock
    jobs: Jobs
    bus: EventBus
    ledger: Ledger
    metrics: Metrics
    started_at: datetime
    github: Any = None
    poller: Any = None
    backfill: Any = None
    webhooks: WebhookReceiver | None = None
    dispatcher: Dispatcher | None = None
    features: dict[str, Any] = field(default_factory=dict)

    def feature(self, name: str) -> Any:
        """Return a feature service by name."""
        return self.features[name]


@dataclass
class RunOptions:
    """How the process is wired: real Discord and GitHub, or the sandbox's emulators."""

    sync: str = "changed"
    guild_ready_timeout: float = 2.0
    github_throttle: bool = True
    ready_timeout: float = 60.0
    webhook_host: str | None = None
    webhook_port: int | None = None


async def open_database(settings: Settings) -> Database:
    """Open and migrate the configured database."""
    db = Database(settings.database.path)
    await db.open()
    await db.migrate()
    return db


def build_services(settings: Settings, secrets: Secrets, db: Database, clock: Clock, options: RunOptions) -> Services:
    """Wire the core and every feature service together."""
    bus = EventBus(db, clock)
    ledger = Ledger(db, clock, settings.github.ignored_accounts, bus)
    metrics = Metrics()
    services = Services(
        settings=settings,
        secrets=secrets,
        db=db,
        clock=clock,
        jobs=Jobs(db, clock),
        bus=bus,
        ledger=ledger,
        metrics=metrics,
        started_at=clock.now(),
    )
    from bot.features import build_features

    build_features(services, options)
    return services


class App:
    """One running Vestry: start everything in order, stop it in reverse."""

    def __init__(
        self, settings: Settings, secrets: Secrets, clock: Clock | None = None, options: RunOptions | None = None
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.clock = clock or SystemClock()
        self.options = options or RunOptions()
        self.services: Services | None = None
        self.bot: Any = None
        self._bot_task: asyncio.Task[None] | None = None
        self.db: Database | None = None

    async def start(self) -> None:
        """Open the database, build services, connect to Discord, start the jobs; raise StartupError on failure."""
        from bot.discord.client import BotSink, VestryBot

        token = self.secrets.discord_token
        if token is None:
            raise StartupError(
                "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/"
                "applications (Bot → Reset Token) and export DISCORD_TOKEN"
            )
        self.db = await open_database(self.settings)
        services = build_services(self.settings, self.secrets, self.db, self.clock, self.options)
        self.services = services
        self.bot = VestryBot(services, sync=self.options.sync, guild_ready_timeout=self.options.guild_ready_timeout)
        services.dispatcher = Dispatcher(self.db, self.clock, BotSink(self.bot))
        services.bus.after_commit.append(services.dispatcher.wake)
        await services.ledger.go_live()
        if services.webhooks is not None:
            hooks = self.settings.webhooks
            await services.webhooks.start(
                self.options.webhook_host or hooks.host,
                hooks.port if self.options.webhook_port is None else self.options.webhook_port,
            )
        try:
            await self.bot.login(token.get_secret_value())
        except discord.LoginFailure:
            raise StartupError(
                "Discord rejected DISCORD_TOKEN (401): copy a fresh token from the Developer Portal (Bot → Reset Token)"
            ) from None
        self._bot_task = asyncio.create_task(self.bot.connect(reconnect=True), name="vestry-gateway")
        ready = asyncio.create_task(self.bot.ready_event.wait())
        done, _ = await asyncio.wait(
            {ready, self._bot_task}, timeout=self.options.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._bot_task in done and self._bot_task.exception() is not None:
                raise StartupError(f"the Discord gateway failed: {self._bot_task.exception()}")
            raise StartupError("Discord did not become ready in time")
        await services.bus.start()
        await services.dispatcher.start()
        services.jobs.start()
        if services.poller is not None:
            asyncio.create_task(self._catch_up(), name="vestry-catch-up")  # noqa: RUF006
        log.info("Vestry is ready as %s", self.bot.user)

    async def _catch_up(self) -> None:
        assert self.services is not None
        try:
            await self.services.poller.catch_up()
        except Exception:
            log.exception("start-up catch-up with GitHub failed; the next poll will try again")

    async def wait(self) -> None:
        """Wait until the gateway task ends."""
        if self._bot_task is not None:
            await self._bot_task

    async def stop(self) -> None:
        """Stop in reverse order: jobs, gateway, dispatcher, events, webhooks, GitHub worker, database."""
        services = self.services
        if services is not None:
            services.jobs.shutdown()
        if self.bot is not None and not self.bot.is_closed():
            await self.bot.close()
        if self._bot_task is not None:
            self._bot_task.cancel()
            try:
                await self._bot_task
            except (asyncio.CancelledError, Exception):  # noqa: S110 - the gateway's end is expected here
                pass
        if services is not None:
            if services.dispatcher is not None:
                await services.dispatcher.stop()
            await services.bus.stop()
            if services.webhooks is not None:
                await services.webhooks.stop()
            if services.github is not None:
                services.github.close()
        if self.db is not None:
            await self.db.close()
