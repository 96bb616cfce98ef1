"""The bot alone in its own process, wired to emulators that run in the harness (for the memory benchmark).

Run as ``python -m benchmarks.botproc '<json>'`` with ``{"settings", "discord_api", "gateway", "discord_token",
"github_token", "webhook_secret"}``. It starts Vestry exactly as ``vestry sandbox`` does, then prints one JSON line
``{"ready": true, "webhook": URL, "rss_kib": n}`` and reads commands from stdin, one a line:
``job <name>`` runs a scheduled job now (answered with ``{"job", "ok", "seconds"}``), ``rss`` reports its
memory and which of the heavy modules it has no need of in the default configuration it has imported
(``{"rss_kib", "peak_kib", "loaded"}``), ``stop`` stops the bot.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from pydantic import SecretStr

from benchmarks.common import HEAVY, rss_kib
from bot.app import App, RunOptions
from bot.clock import SystemClock
from bot.config import Secrets, parse_settings
from bot.sandbox.discord_wire import point_discord_py_at


def _say(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def main(config: dict[str, Any]) -> None:
    """Start the bot, answer commands from stdin, stop on ``stop`` or end of input."""
    point_discord_py_at(config["discord_api"], config["gateway"])
    settings = parse_settings(config["settings"], "memory benchmark")
    secrets = Secrets(
        discord_token=SecretStr(config["discord_token"]),
        github_token=SecretStr(config["github_token"]),
        github_app_id=None,
        github_app_private_key_file=None,
        github_webhook_secret=SecretStr(config["webhook_secret"]),
    )
    options = RunOptions(
        sync="always", guild_ready_timeout=0.1, github_throttle=False, ready_timeout=120, first_start_prompt=False
    )
    app = App(settings, secrets, SystemClock(), options)
    await app.start()
    services = app.services
    assert services is not None and services.webhooks is not None
    _say({"ready": True, "webhook": services.webhooks.url, "rss_kib": rss_kib()[0]})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "stop":
                break
            if line == "rss":
                heavy = sorted(name for name in HEAVY if name in sys.modules)
                _say({"rss_kib": rss_kib()[0], "peak_kib": rss_kib()[1], "loaded": heavy})
            if line.startswith("job "):
                name = line.removeprefix("job ")
                started = time.perf_counter()
                ok = await services.jobs.run(name)
                _say({"job": name, "ok": ok, "seconds": time.perf_counter() - started, "rss_kib": rss_kib()[0]})
    finally:
        await app.stop()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
