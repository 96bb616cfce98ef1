"""Start-up checks that refuse what cannot work, and retries of services that are not reachable yet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.config import Secrets, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class Unreachable(Exception):
    """A service did not answer (connection refused, DNS, timeout, 5xx); trying again later may work."""


def secret_problem(settings: Settings, secrets: Secrets) -> str | None:
    """Refuse webhooks without a secret unless the operator chose ``webhooks.allow_unsigned`` on purpose."""
    hooks = settings.webhooks
    if not hooks.enabled or secrets.github_webhook_secret is not None or hooks.allow_unsigned:
        return None
    return (
        "webhooks are on but GITHUB_WEBHOOK_SECRET is not set, so anyone who finds the URL could post deliveries: "
        "set the same secret in GitHub's webhook settings and in the environment, or set "
        "webhooks.allow_unsigned = true to accept unsigned deliveries on purpose"
    )


@dataclass(frozen=True)
class Backoff:
    """How start-up retries a service: the first wait, the longest wait, and how many tries (None: forever)."""

    first: float = 2.0
    longest: float = 300.0
    tries: int | None = None

    def delays(self) -> list[float] | None:
        """The waits between tries when the number of tries is bounded (for tests and docs)."""
        if self.tries is None:
            return None
        return [min(self.first * 2**index, self.longest) for index in range(self.tries - 1)]


async def retry_unreachable(what: str, attempt: Callable[[], Awaitable[T]], backoff: Backoff) -> T:
    """Run ``attempt`` until it works, waiting longer each time ``what`` is unreachable; one log line a try.

    The last try's Unreachable is raised when ``backoff.tries`` runs out.
    """
    number = 0
    while True:
        number += 1
        try:
            return await attempt()
        except Unreachable as exc:
            if backoff.tries is not None and number >= backoff.tries:
                log.error("%s is unreachable (%s): gave up after %d tries", what, exc, number)
                raise
            wait = min(backoff.first * 2 ** (number - 1), backoff.longest)
            log.warning("%s is unreachable (%s): try %d failed, trying again in %.0fs", what, exc, number, wait)
            await asyncio.sleep(wait)
