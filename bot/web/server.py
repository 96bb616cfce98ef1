"""The bot's web server: /healthz and /metrics always, the webhook path when webhooks are on, the hall of fame
when it is enabled."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.db import Database
from bot.web.metrics import Metrics

if TYPE_CHECKING:
    from bot.github.webhooks import WebhookReceiver
    from bot.web.hof import HallOfFameSite

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]
MAX_BODY = 25 * 1024 * 1024 + 1024  # a GitHub delivery's limit, plus headroom


class WebServer:
    """One aiohttp server for everything the bot answers over HTTP."""

    def __init__(
        self,
        db: Database,
        metrics: Metrics,
        *,
        webhooks: WebhookReceiver | None = None,
        site: HallOfFameSite | None = None,
    ) -> None:
        self._db = db
        self.metrics = metrics
        self.webhooks = webhooks
        self.site = site
        self._checks: list[HealthCheck] = []
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    def add_health(self, check: HealthCheck) -> None:
        """Add checks to /healthz (the gateway's, once the bot exists)."""
        self._checks.append(check)

    def app(self) -> web.Application:
        """Build the aiohttp application."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_view)
        if self.webhooks is not None:
            self.webhooks.mount(app)
        if self.site is not None:
            self.site.mount(app)
        return app

    async def start(self, host: str, port: int) -> str:
        """Listen; return the base URL the server answers on."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{'127.0.0.1' if host in {'0.0.0.0', '', '::'} else host}:{bound}"  # noqa: S104
        if self.webhooks is not None:
            self.webhooks.served_at(self.url)
        log.info("web server listening on %s:%s", host, bound)
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.site is not None:
            await self.site.close()

    async def healthz(self, request: web.Request) -> web.Response:
        """Report liveness of the event loop, database and gateway."""
        checks: dict[str, Any] = {"event_loop": True}
        try:
            await self._db.fetchval("SELECT 1")
            checks["database"] = True if self._db.fault is None else f"error: {self._db.fault}"
        except Exception as exc:  # the health endpoint reports, it does not raise
            checks["database"] = f"error: {exc}"
        for check in self._checks:
            checks.update(await check())
        ok = all(value is True for value in checks.values())
        return web.Response(
            status=200 if ok else 503, text=json.dumps({"ok": ok, **checks}), content_type="application/json"
        )

    async def metrics_view(self, request: web.Request) -> web.Response:
        """Serve Prometheus metrics."""
        return web.Response(text=await self.metrics.render(), content_type="text/plain")
