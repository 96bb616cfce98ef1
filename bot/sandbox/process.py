"""The real bot alone in its own process, wired to emulators that live elsewhere, so a test can SIGKILL it.

    python -m bot.sandbox.process --settings FILE --discord-url URL --ready-file FILE [--control-port N]
                                  [--clock-offset SECONDS]

The emulators run in another process (a test's), so what they recorded survives the bot's death: Discord's
posts and roles, GitHub's pull requests and the webhooks that failed while the bot was down. The settings file
is JSON (``write_settings`` builds it from a running Discord emulator and keeps the webhook port fixed, so the
GitHub emulator's webhook URL stays right across restarts). Secrets come from the environment exactly as for
``vestry run``: ``DISCORD_TOKEN``, ``GITHUB_TOKEN``, ``GITHUB_WEBHOOK_SECRET``; logging is configured as in
production (JSON lines, secrets redacted).

Once ready the process writes ``{"control": URL, "webhook": URL, "pid": N}`` to the ready file. Its control API:
``POST /settle`` waits for the start-up catch-up with GitHub, then until every webhook is processed, every event
handled and the outbox is empty (504 with what remains after ``?wait=`` seconds); ``GET /backlog`` counts what
is in flight; ``POST /jobs/{name}/run`` runs a job now. ``/healthz`` and ``/metrics`` are the webhook server's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import logs
from bot.app import App, RunOptions, StartupError
from bot.clock import Clock, ManualClock, SystemClock
from bot.config import ConfigError, load_secrets, parse_settings
from bot.sandbox.config import builtin_config, deep_merge, resolve_names
from bot.sandbox.discord.rest import API_PREFIX
from bot.sandbox.discord_wire import point_discord_py_at

log = logging.getLogger(__name__)

CATCH_UP_TASK = "vestry-catch-up"


def settings_data(
    world: Any,
    github_url: str,
    workdir: Path,
    *,
    webhook_port: int,
    poll: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the bot's settings for a running Discord emulator (``world``) and GitHub emulator."""
    data = builtin_config(world, github_url, workdir / "vestry.sqlite3", poll)
    data["webhooks"]["port"] = webhook_port
    data["logging"] = {"level": "INFO", "format": "json"}
    return resolve_names(deep_merge(data, overrides or {}), world)


def write_settings(path: Path, data: dict[str, Any]) -> Path:
    """Write settings as JSON for ``--settings``."""
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


class BotProcess:
    """One App against external emulators, with a small control API."""

    def __init__(self, settings_file: Path, discord_url: str, control_port: int = 0, clock_offset: float = 0.0) -> None:
        self.settings = parse_settings(json.loads(settings_file.read_text(encoding="utf-8")), str(settings_file))
        self.secrets = load_secrets()
        self.discord_url = discord_url.rstrip("/")
        self.control_port = control_port
        self.clock_offset = clock_offset
        self.app: App | None = None
        self._runner: web.AppRunner | None = None
        self.control_url = ""

    async def start(self) -> dict[str, Any]:
        """Point discord.py at the emulator, start the bot, serve the control API; return the ready object."""
        gateway = self.discord_url.replace("http://", "ws://", 1) + "/gateway"
        point_discord_py_at(self.discord_url + API_PREFIX, gateway)
        options = RunOptions(
            sync="always", guild_ready_timeout=0.1, github_throttle=False, ready_timeout=20, first_start_prompt=False
        )
        clock: Clock = SystemClock()
        if self.clock_offset:  # the emulators' sandbox clock, moved ahead of the wall clock by a test
            clock = ManualClock(datetime.now(UTC) + timedelta(seconds=self.clock_offset))
        self.app = App(self.settings, self.secrets, clock, options)
        await self.app.start()
        self._runner = web.AppRunner(self._control_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.control_port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.control_url = f"http://127.0.0.1:{port}"
        services = self.services
        webhook = services.webhooks.url if services.webhooks is not None else None
        return {"control": self.control_url, "webhook": webhook, "pid": os.getpid()}

    @property
    def services(self) -> Any:
        """The running bot's services."""
        assert self.app is not None and self.app.services is not None
        return self.app.services

    async def stop(self) -> None:
        """Stop the control API, then the bot."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self.app is not None:
            await self.app.stop()

    async def backlog(self) -> dict[str, int]:
        """Count what is still in flight: webhooks, events, outbox rows, start-up catch-up."""
        services = self.services
        catching_up = [t for t in asyncio.all_tasks() if t.get_name() == CATCH_UP_TASK and not t.done()]
        return {
            "catch_up": len(catching_up),
            "webhooks": services.webhooks.pending() if services.webhooks is not None else 0,
            "events": await services.bus.pending(),
            "outbox": int(await services.db.fetchval("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", default=0)),
        }

    async def settle(self, timeout: float) -> dict[str, int]:
        """Wait until nothing is in flight (twice in a row, 50 ms apart) or the timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = await self.backlog()
            if not any(remaining.values()):
                await asyncio.sleep(0.05)
                remaining = await self.backlog()
                if not any(remaining.values()):
                    return remaining
            if loop.time() > deadline:
                return remaining
            self.services.bus.notify()
            if self.services.dispatcher is not None:
                self.services.dispatcher.wake()
            await asyncio.sleep(0.02)

    def _control_app(self) -> web.Application:
        routes = web.RouteTableDef()

        @routes.post("/settle")
        async def settle(request: web.Request) -> web.Response:
            remaining = await self.settle(float(request.query.get("wait", "30")))
            if any(remaining.values()):
                return web.json_response({"error": "not settled", "remaining": remaining}, status=504)
            return web.json_response({"settled": True})

        @routes.get("/backlog")
        async def backlog(request: web.Request) -> web.Response:
            return web.json_response(await self.backlog())

        @routes.post("/jobs/{name}/run")
        async def run_job(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            if name not in self.services.jobs.names():
                return web.json_response({"error": f"no job named {name}"}, status=404)
            return web.json_response({"name": name, "ok": await self.services.jobs.run(name)})

        app = web.Application()
        app.add_routes(routes)
        return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox.process", description=__doc__.split("\n")[0])
    parser.add_argument("--settings", required=True, help="settings as JSON (see write_settings)")
    parser.add_argument("--discord-url", required=True, help="the Discord emulator's base URL")
    parser.add_argument("--ready-file", required=True, help="where to write the ready JSON object")
    parser.add_argument("--control-port", type=int, default=0, help="control API port (default: any free port)")
    parser.add_argument(
        "--clock-offset", type=float, default=0.0, help="run the clock this many seconds ahead of the wall clock"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the bot until SIGINT or SIGTERM (or until it is killed)."""
    args = _parser().parse_args(argv)

    async def run() -> int:
        try:
            process = BotProcess(Path(args.settings), args.discord_url, args.control_port, args.clock_offset)
        except ConfigError as exc:
            print(exc.render(), file=sys.stderr)
            return 1
        settings = process.settings
        logs.configure(settings.logging.level, settings.logging.format, process.secrets.values())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        failure: str | None = None
        try:
            info = await process.start()
            ready = Path(args.ready_file)
            partial = ready.with_name(ready.name + ".partial")
            partial.write_text(json.dumps(info), encoding="utf-8")
            partial.replace(ready)  # readers never see half a file
            assert process.app is not None
            failure = await process.app.serve_until(stop)
        except StartupError as exc:
            print(f"vestry: {exc}", file=sys.stderr)
            return 2
        finally:
            await process.stop()
        if failure is not None:
            print(f"vestry: {failure}", file=sys.stderr)
            return 3
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    raise SystemExit(main())
