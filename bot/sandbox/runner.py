"""``vestry sandbox``: both emulators, the real bot and the control API, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import App, RunOptions, StartupError
from bot.clock import ManualClock
from bot.config import ConfigError, Secrets, load_settings
from bot.context import Services
from bot.db import DatabaseError, MigrationError
from bot.sandbox.config import SANDBOX_REPO, deep_merge, sandbox_settings
from bot.sandbox.control import control_app
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.discord_wire import point_discord_py_at
from bot.sandbox.github_emulator import GitHubEmulator
from bot.sandbox.persist import WorldStore

log = logging.getLogger(__name__)

WEBHOOK_SECRET = "sandbox-webhook-secret"
SETTLE_TIMEOUT = 30.0


class Sandbox:
    """Emulated Discord and GitHub, the real bot wired to them, and the control API."""

    def __init__(
        self,
        *,
        config_file: str | None = None,
        overrides: dict[str, Any] | None = None,
        poll: bool = False,
        control_port: int = 0,
        workdir: str | None = None,
        github: GitHubEmulator | None = None,
        rate_limits: str = "fast",
        device_interval: int = 5,
        data_dir: str | None = None,
        github_app: bool = False,
    ) -> None:
        """Prepare a sandbox; ``rate_limits`` is ``"real"`` (``vestry sandbox``'s default) or ``"fast"`` (tests).

        ``github_app``: the bot authenticates as a GitHub App installed on the default repository (also when the
        configuration file has a ``[github.app]`` table), instead of with a token.
        """
        self.clock = ManualClock()
        self.poll = poll
        self.github_app = github_app
        self._config_file = config_file
        self._overrides = overrides or {}
        self._control_port = control_port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            workdir = data_dir
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="vestry-sandbox-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.discord = DiscordEmulator(clock=self.clock, rate_limits=rate_limits)
        self._own_github = github is None
        self.github = github or GitHubEmulator(
            clock=self.clock, device_interval=device_interval, rate_limits=rate_limits
        )
        self.app: App | None = None
        self._runner: web.AppRunner | None = None
        self.store: WorldStore | None = None
        if data_dir is not None:
            worlds = {"discord": self.discord.world, "github": self.github.world}
            self.store = WorldStore(self.workdir, self.clock, worlds)
        self.control_url = ""
        self.ready_info: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        """Start everything; return the ready line's object."""
        await self.discord.start()
        if self._own_github:
            await self.github.start()
        if self.store is not None and self.store.exists():
            self.store.load()  # a restart with the same --data folder: continue where the last run stopped
            self.discord.world.cdn_base = self.discord.url
        elif self._own_github:
            await self.github.create_repo("sandbox/project", deliver=False)
            await self.github.create_user("maintainer", deliver=False)
        point_discord_py_at(self.discord.api_base, self.discord.gateway_url)
        overrides = self._overrides
        if self.github_app or (self._config_file is not None and load_settings(self._config_file).github.app):
            self.github_app = True
            github: dict[str, Any] = {"app": await self._app_settings()}
            if self._config_file is None and "repositories" not in self._overrides.get("github", {}):
                github["repositories"] = []  # follow what the App is installed on
            overrides = deep_merge(overrides, {"github": github})
        settings = sandbox_settings(
            self.discord,
            self.github.url,
            self.workdir / "vestry.sqlite3",
            poll=self.poll,
            config_file=self._config_file,
            overrides=overrides,
        )
        secrets = Secrets(
            discord_token=_secret(self.discord.token),
            github_token=None if self.github_app else _secret(self.github.token),
            github_app_id=None,
            github_app_private_key_file=None,
            github_webhook_secret=None if self.poll else _secret(WEBHOOK_SECRET),
        )
        options = RunOptions(
            sync="always", guild_ready_timeout=0.1, github_throttle=False, ready_timeout=20, first_start_prompt=False
        )
        self.app = App(settings, secrets, self.clock, options)
        await self.app.start()
        if self.app.catch_up_task is not None:
            await self.app.catch_up_task  # ready means caught up: later merges are news, never history
        services = self.app.services
        assert services is not None
        webhook_url = services.webhooks.url if services.webhooks is not None else None
        self.github.set_webhook(webhook_url, None if self.poll else WEBHOOK_SECRET)
        control = control_app(self)
        if self.store is not None:
            control.middlewares.append(self._save_after)
            self.store.start()
        self._runner = web.AppRunner(control, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._control_port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.control_url = f"http://127.0.0.1:{port}"
        self.ready_info = {
            "control": self.control_url,
            "discord": self.discord.url,
            "github": self.github.url,
            "webhook": webhook_url,
            "webhook_secret": None if self.poll else WEBHOOK_SECRET,
            "web": services.web.url if services.web is not None else None,
        }
        return self.ready_info

    async def _app_settings(self) -> dict[str, Any]:
        """Create the sandbox's GitHub App (installed on the default repository) unless a restored world has one;
        write its private key to a 0600 file in the work folder; return the ``[github.app]`` table."""
        apps = self.github.world.apps
        apps.app_mode = True
        app = apps.app
        if app is None:
            app = self.github.create_app("Vestry Sandbox")
            await self.github.install_app([SANDBOX_REPO], deliver=False)
        key_file = self.workdir / "github-app.pem"
        key_file.touch(mode=0o600)
        key_file.chmod(0o600)
        key_file.write_text(app.private_key, encoding="utf-8")
        return {"app_id": app.id, "private_key_file": str(key_file), "installation_id": None}

    @web.middleware
    async def _save_after(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Save the worlds after every control request, so what a test did survives a SIGKILL right after."""
        try:
            return await handler(request)
        finally:
            if self.store is not None:
                self.store.save()

    @property
    def services(self) -> Services:
        """The running bot's services."""
        assert self.app is not None and self.app.services is not None
        return self.app.services

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> dict[str, int]:
        """Wait until every webhook is processed, every event handled and the outbox is empty."""
        services = self.services
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = await self.backlog()
            if not any(remaining.values()):
                await asyncio.sleep(0.05)
                if not any((await self.backlog()).values()):
                    return remaining
            if loop.time() > deadline:
                return remaining
            services.bus.notify()
            if services.dispatcher is not None:
                services.dispatcher.wake()
            sender = services.features.invitations.sender
            if sender is not None:
                sender.wake()
            await asyncio.sleep(0.02)

    async def backlog(self) -> dict[str, int]:
        """Count what is still in flight."""
        services = self.services
        webhooks = services.webhooks.pending() if services.webhooks is not None else 0
        events = await services.bus.pending()
        outbox = int(await services.db.fetchval("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", default=0))
        held = await services.features.recognition.held_count()
        invites = await services.features.invitations.in_flight()
        return {
            "webhooks": webhooks,
            "events": events,
            "outbox": outbox,
            "held_celebrations": held,
            "invitations": invites,
        }

    async def stop(self) -> None:
        """Stop everything, in reverse order."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self.app is not None:
            await self.app.stop()
        if self.store is not None:
            await self.store.stop()
        if self._own_github:
            await self.github.stop()
        await self.discord.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def run_sandbox_cli(
    config: str | None,
    ready_file: str | None,
    poll: bool,
    port: int,
    rate_limits: str = "real",
    data: str | None = None,
    github_app: bool = False,
) -> int:
    """Run ``vestry sandbox`` until SIGINT or SIGTERM; with ``data``, state lives in that folder across runs."""

    async def main() -> int:
        sandbox = Sandbox(
            config_file=config,
            poll=poll,
            control_port=port,
            rate_limits=rate_limits,
            data_dir=data,
            github_app=github_app,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            info = await sandbox.start()
        except ConfigError as exc:
            print(exc.render(), file=sys.stderr)
            await sandbox.stop()
            return 1
        except (StartupError, DatabaseError, MigrationError) as exc:
            print(f"vestry: {exc}", file=sys.stderr)
            await sandbox.stop()
            return 2
        line = json.dumps(info)
        if ready_file:
            partial = Path(ready_file).with_name(Path(ready_file).name + ".partial")
            partial.write_text(line, encoding="utf-8")
            partial.replace(ready_file)  # readers never see half a file
        print(f"sandbox ready {line}", flush=True)
        try:
            assert sandbox.app is not None
            failure = await sandbox.app.serve_until(stop)  # as `vestry run`: a fatal gateway close ends it
        finally:
            await sandbox.stop()
        if failure is not None:
            print(f"vestry: {failure}", file=sys.stderr)
            return 3
        return 0

    return asyncio.run(main())
