"""The composition root: build settings, database, clock, GitHub adapter, scheduler and services; run the bot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.clock import Clock, SystemClock
from bot.config import Secrets, Settings
from bot.config.github import CredentialsError, app_credentials
from bot.context import RunOptions, Services
from bot.db import Database
from bot.discord.gateway_errors import describe_gateway_end
from bot.features import build_services, follow_installation
from bot.outbox import failed_count
from bot.startup import Unreachable, retry_unreachable, secret_problem

__all__ = ["App", "RunOptions", "StartupError", "build_services", "open_database"]

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Vestry cannot start; the message says why in one line."""


async def open_database(settings: Settings) -> Database:
    """Open and migrate the configured database."""
    db = Database(settings.database.path)
    await db.open()
    try:
        await db.quick_check()
        await db.migrate()
    except BaseException:
        await db.close()  # a failed start must still let the process exit
        raise
    return db


def register_operations(services: Services, bot: Any) -> None:
    """Serve the gauges of /metrics and the gateway check of /healthz."""
    dispatcher, github, bus = services.dispatcher, services.github, services.bus

    def number(read: Callable[[], Any]) -> Callable[[], Awaitable[float]]:
        async def gauge() -> float:
            return float(read() or 0)

        return gauge

    async def outbox_depth() -> float:
        return float((await dispatcher.depth())[0])

    async def outbox_age() -> float:
        return (await dispatcher.depth())[1]

    async def dead_letters() -> float:
        return float(await failed_count(services.db))

    async def events_pending() -> float:
        return float(await bus.pending())

    async def rate_left() -> dict[str, float]:
        limits = getattr(github, "rate_limits", None) or {}
        return {f'{{resource="{name}"}}': float(info.remaining) for name, info in limits.items()}

    def jobs(field: str) -> Callable[[], Awaitable[dict[str, float]]]:
        async def gauge() -> dict[str, float]:
            return {f'{{job="{job.name}"}}': float(getattr(job, field)) for job in await services.jobs.info()}

        return gauge

    services.metrics.gauges.update(
        {
            "vestry_outbox_depth": outbox_depth,
            "vestry_outbox_oldest_seconds": outbox_age,
            "vestry_outbox_delivered_total": number(lambda: dispatcher.delivered),
            "vestry_outbox_failed_total": number(lambda: dispatcher.failed),
            "vestry_outbox_failed": dead_letters,
            "vestry_outbox_retries_total": number(lambda: dispatcher.retries),
            "vestry_outbox_found_posted_total": number(lambda: dispatcher.found_posted),
            "vestry_events_pending": events_pending,
            "vestry_event_failures_total": number(lambda: bus.failures),
            "vestry_github_requests_total": number(lambda: getattr(github, "requests_made", 0)),
            "vestry_github_not_modified_total": number(lambda: getattr(github, "not_modified", 0)),
            "vestry_github_rate_limit_remaining": rate_left,
            "vestry_job_runs_total": jobs("runs"),
            "vestry_job_failures_total": jobs("failures"),
        }
    )

    async def gateway() -> dict[str, Any]:
        socket = getattr(bot, "ws", None)
        live = bot.is_ready() and not bot.is_closed() and socket is not None and bool(getattr(socket, "open", False))
        return {"gateway": True if live else "error: not connected to the Discord gateway (reconnecting)"}

    if services.web is not None:
        services.web.add_health(gateway)


def web_address(settings: Settings, options: RunOptions) -> tuple[str, int]:
    """Where the web server listens: the run options, else [web], else [webhooks] (one server serves all)."""
    host = options.webhook_host or settings.web.host or settings.webhooks.host
    port = options.webhook_port
    if port is None:
        port = settings.web.port if settings.web.port is not None else settings.webhooks.port
    return host, port


async def first_start_backfill(services: Services, prompt: bool) -> None:
    """Run the backfill when configured to; otherwise ask the maintainers to run it."""
    from bot.messages import OutMessage
    from bot.outbox import enqueue_message

    settings = services.settings
    if settings.github.backfill_on_first_start:
        for repo in settings.github.repositories:
            report = await services.backfill.run(repo)
            log.info("first-start backfill of %s: %s", repo, report)
        return
    channel = settings.discord.channels.maintainers
    if not prompt or channel is None:
        log.info("first start: run `vestry backfill` or /vestry backfill so past contributions count")
        return
    text = (
        "Vestry is live. Past contributions are not imported yet: run `/vestry backfill` so ranks and the "
        "ladder count them. History is never announced as news."
    )
    async with services.db.transaction() as conn:
        await enqueue_message(conn, "backfill-prompt", channel, OutMessage(text), now=services.clock.now())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


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
        self._background: list[asyncio.Task[None]] = []
        self.catch_up_task: asyncio.Task[None] | None = None
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
        unsigned = secret_problem(self.settings, self.secrets)
        if unsigned is not None:
            raise StartupError(unsigned)
        try:
            app_credentials(self.settings.github, self.secrets)
        except CredentialsError as exc:
            raise StartupError(str(exc)) from None
        self.db = await open_database(self.settings)
        sink = BotSink(self.clock)
        services = build_services(self.settings, self.secrets, self.db, self.clock, self.options, sink)
        self.services = services
        self.bot = VestryBot(services, sync=self.options.sync, guild_ready_timeout=self.options.guild_ready_timeout)
        sink.bind(self.bot)
        register_operations(services, self.bot)
        first_start = await self.db.get_state("go_live") is None
        await services.features.linking.tell_interrupted_devices()
        changed = await services.ledger.apply_ignored_accounts()
        if changed:
            log.info("github.ignored_accounts changed: %d account(s) now follow the configuration", changed)
        await services.ledger.go_live()
        await services.github.start()
        await follow_installation(services)
        if services.webhooks is not None:
            await services.webhooks.start_processing()
        if services.web is not None:
            await services.web.start(*web_address(self.settings, self.options))
        await self._login(token.get_secret_value())
        self._bot_task = asyncio.create_task(self.bot.connect(reconnect=True), name="vestry-gateway")
        ready = asyncio.create_task(self.bot.ready_event.wait())
        done, _ = await asyncio.wait(
            {ready, self._bot_task}, timeout=self.options.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._bot_task in done and self._bot_task.exception() is not None:
                raise StartupError(describe_gateway_end(self._bot_task.exception()))
            raise StartupError("Discord did not become ready in time")
        await services.bus.start()
        await services.dispatcher.start()
        services.jobs.start()
        self.catch_up_task = asyncio.create_task(self._catch_up(first_start), name="vestry-catch-up")
        self._background.append(self.catch_up_task)
        log.info("Vestry is ready as %s", self.bot.user)

    async def _login(self, token: str) -> None:
        """Log in to Discord, retrying with backoff while Discord cannot be reached (one log line a try)."""

        async def attempt() -> None:
            try:
                await self.bot.login(token)
            except discord.LoginFailure:
                raise StartupError(
                    "Discord rejected DISCORD_TOKEN (401): copy a fresh token from the Developer Portal "
                    "(Bot → Reset Token)"
                ) from None
            except (TimeoutError, OSError, discord.DiscordServerError) as exc:
                raise Unreachable(_one_line(exc)) from None

        try:
            await retry_unreachable("Discord", attempt, self.options.discord_backoff)
        except Unreachable as exc:
            raise StartupError(f"Discord is unreachable ({exc}); check the network and try again") from None

    async def _catch_up(self, first_start: bool) -> None:
        """Recover what GitHub did while the bot was down; on a first start, offer or run the backfill."""
        services = self.services
        assert services is not None
        poller = services.poller

        async def attempt() -> None:
            following = services.app_following
            if following is not None and following.unreachable:  # GitHub did not answer at start: the App first
                await following.refresh(services.github)
                if following.unreachable:
                    raise Unreachable(str(following.error))
            report = await poller.catch_up()
            if report.unreachable and report.unreachable == len(poller.repositories):
                raise Unreachable(report.errors[0])

        try:
            if services.github is not None:
                # Once per start: GitHub's spelling and id of each followed repository (a slow or absent GitHub
                # must not hold up the start; until then deliveries are matched by name and teach the id).
                await services.repos.resolve(services.db, services.clock, services.github.repository)
            if poller is not None:
                await retry_unreachable("GitHub", attempt, self.options.github_backoff)
            if first_start:
                await first_start_backfill(services, prompt=self.options.first_start_prompt)
        except Unreachable:
            pass  # logged by the retry; the next poll (or webhook gap check) tries again
        except Exception:
            log.exception("start-up catch-up with GitHub failed; the next poll will try again")

    async def wait(self) -> None:
        """Wait until the gateway task ends."""
        if self._bot_task is not None:
            await self._bot_task

    async def serve_until(self, stop: asyncio.Event) -> str | None:
        """Serve until ``stop`` is set (None) or the gateway ends for good (the one line saying why and what to do).

        Transient closes never end the gateway task (discord.py resumes); fatal ones (4004, 4013, 4014) and
        errors while reading an event do, and a service manager must see a failure to restart or alert.
        """
        if self._bot_task is None:
            return None
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({self._bot_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if stop.is_set() or not self._bot_task.done() or self._bot_task.cancelled():
            return None
        exc = self._bot_task.exception()
        line = describe_gateway_end(exc)
        log.error("%s", line, exc_info=exc if exc is not None and not _is_close(exc) else None)
        return line

    async def stop(self) -> None:
        """Stop in reverse order: jobs, gateway, dispatcher, events, webhooks, GitHub worker, database."""
        services = self.services
        for task in self._background:
            task.cancel()
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
            if services.web is not None:
                await services.web.stop()
            if services.webhooks is not None:
                await services.webhooks.stop()
            if services.github is not None:
                await services.github.close()
        if self.db is not None:
            await self.db.close()


def _is_close(exc: BaseException) -> bool:
    """Tell whether an exception is Discord closing the gateway (no traceback needed, the line says it all)."""
    return isinstance(exc, discord.ConnectionClosed | discord.PrivilegedIntentsRequired | discord.LoginFailure)
