"""Retrying and rate-limit bookkeeping for the GitHub worker (PyGithub's retry, capped to what Vestry waits)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from github import GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from urllib3.exceptions import MaxRetryError, ResponseError

from bot.clock import Clock
from bot.github import graphql as gq
from bot.github.types import RateLimited, RateLimitInfo


@dataclass
class Stats:
    """What the worker has seen: request counts, rate-limit buckets, backoffs and repeated secondary limits."""

    requests: int = 0
    not_modified: int = 0
    limits: dict[str, RateLimitInfo] = field(default_factory=dict)
    backoff: dict[str, datetime] = field(default_factory=dict)
    secondary_hits: dict[str, int] = field(default_factory=dict)


TIMEOUT_STATUSES = (502, 504)
SECONDARY_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute, then back off exponentially
SECONDARY_WAIT_MAX = 3600.0


class CappedRetry(GithubRetry):
    """GithubRetry that also refuses to sleep on a long ``Retry-After`` (urllib3 would honour any length)."""

    def increment(
        self,
        method: Any = None,
        url: Any = None,
        response: Any = None,
        error: Any = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Any:
        if response is not None and response.status in TIMEOUT_STATUSES and "/graphql" in str(url or ""):
            # A GraphQL query that timed out would time out again: the caller asks for a smaller page instead.
            raise MaxRetryError(_pool, str(url), ResponseError(f"too many {response.status} error responses"))
        if response is not None and response.status >= 500 and _is_write(method, url):
            # A comment GitHub answered with 5xx may have been made anyway: the caller looks before writing again.
            raise MaxRetryError(_pool, str(url), ResponseError(f"too many {response.status} error responses"))
        if response is not None and response.status in (403, 429) and "Retry-After" in response.headers:
            wait = to_float(response.headers.get("Retry-After"))
            if self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(response.status, None, dict(response.headers), wait=wait)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _is_write(method: Any, url: Any) -> bool:
    """Tell whether a request writes a comment (a repeat of which would show twice); GraphQL queries only read."""
    return str(method or "").upper() in {"POST", "PATCH"} and "/comments" in str(url or "")


def lower(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Return the headers with lower-case names."""
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def to_float(value: Any) -> float:
    """Read a header value as a number (0 when it is not one)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def short(exc: BaseException) -> str:
    """Return the first line of an error, at most 200 characters."""
    return str(exc).split("\n", 1)[0][:200]


def note_graphql_limit(stats: Stats, clock: Clock, data: Mapping[str, Any] | None) -> None:
    """Keep what a query's own ``rateLimit`` field said (points left, and when the window resets)."""
    info = gq.rate_limit(dict(data)) if data else None
    if info is not None:
        limit = stats.limits.get("graphql")
        reset_at = clock.now() + (info[1] - datetime.now(UTC))  # GitHub's reset is wall-clock time
        stats.limits["graphql"] = RateLimitInfo("graphql", limit.limit if limit else 5000, info[0], reset_at)


def graphql_limited(clock: Clock, headers: Mapping[str, str]) -> RateLimited:
    """A spent GraphQL budget (HTTP 200, ``RATE_LIMITED``): wait until the window's reset."""
    reset = headers.get("x-ratelimit-reset")
    wait = to_float(reset) - time.time() if reset else 60.0
    return RateLimited(clock.now() + timedelta(seconds=max(wait, 1.0)), False, "graphql")
