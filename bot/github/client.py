"""The one GitHub worker: a dedicated thread that owns the one PyGithub instance and returns plain data.

PyGithub is not thread-safe and blocks, so every call runs on a single worker thread (DESIGN.md rule 7).
Callers on the event loop ``await`` the public methods; what comes back is dataclasses, dicts and lists,
never a lazy PyGithub object. Rate limits surface as :class:`RateLimited` instead of a long sleep.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from github import Auth, Github, GithubException
from github.GithubException import RateLimitExceededException
from urllib3.exceptions import HTTPError as Urllib3Error

from bot.clock import Clock, SystemClock
from bot.config.github import AppCredentials, app_credentials
from bot.github import retry
from bot.github.app_auth import InstallationAuth
from bot.github.calls import GitHubCalls
from bot.github.retry import SECONDARY_WAIT, SECONDARY_WAIT_MAX, CappedRetry, Stats, lower, short, to_float
from bot.github.types import (
    GitHubError,
    GitHubUnavailable,
    GraphQLFailed,
    JsonResponse,
    NotFound,
    RateLimited,
    RateLimitInfo,
)

if TYPE_CHECKING:
    from bot.config.models import GitHubSettings
    from bot.config.secrets import Secrets

log = logging.getLogger(__name__)

T = TypeVar("T")
STAR_MEDIA_TYPE = "application/vnd.github.star+json"
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubWorker(GitHubCalls):
    """Run PyGithub on one dedicated thread and hand back plain data."""

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        app: AppCredentials | None = None,
        app_repository: str | None = None,
        clock: Clock | None = None,
        throttle: bool = True,
        timeout: int = 15,
        retries: int = 3,
        retry_backoff: float = 0.5,
        max_rate_limit_wait: float = 5.0,
    ) -> None:
        self.api_url = api_url
        self._token = token
        self._app = app
        self._app_repository = app_repository
        self.app_auth: InstallationAuth | None = None
        self._clock = clock or SystemClock()
        self._throttle = throttle
        self._timeout = timeout
        self._retry = CappedRetry(
            total=retries, backoff_factor=retry_backoff, secondary_rate_wait=60, max_rate_limit_wait=max_rate_limit_wait
        )
        self._executor: ThreadPoolExecutor | None = None
        self._gh: Github | None = None
        self._stats = Stats()

    @classmethod
    def from_settings(
        cls, settings: GitHubSettings, secrets: Secrets, *, clock: Clock | None = None, sandbox: bool = False
    ) -> GitHubWorker:
        """Build the worker from the settings and secrets; ``sandbox`` turns off throttling and retry waits."""
        app = app_credentials(settings, secrets)  # CredentialsError names what is wrong
        token = secrets.github_token.get_secret_value() if secrets.github_token and app is None else None
        return cls(
            settings.api_url,
            token,
            app=app,
            app_repository=settings.repositories[0] if settings.repositories else None,
            clock=clock,
            throttle=not sandbox,
            retry_backoff=0.0 if sandbox else 0.5,
        )

    # lifecycle ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the worker thread and create the Github instance inside it."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="github")
            await asyncio.get_running_loop().run_in_executor(self._executor, self._create)

    async def close(self) -> None:
        """Close the Github instance and stop the thread."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        await asyncio.get_running_loop().run_in_executor(executor, self._close_sync)
        executor.shutdown(wait=False)

    def _create(self) -> None:
        auth: Auth.Auth | None = Auth.Token(self._token) if self._token else None
        if auth is None and self._app is not None:
            auth = self._app_auth()
        if auth is None:
            log.warning("no GitHub token or app configured: requests are anonymous (60 an hour)")
        self._gh = Github(
            base_url=self.api_url,
            auth=auth,
            timeout=self._timeout,
            retry=self._retry,
            lazy=True,
            per_page=100,
            seconds_between_requests=0.25 if self._throttle else None,
            seconds_between_writes=1.0 if self._throttle else None,
        )

    def _app_auth(self) -> Auth.Auth:
        assert self._app is not None
        self.app_auth = InstallationAuth(
            self._app.app_id,
            self._app.private_key,
            installation_id=self._app.installation_id,
            repository=self._app_repository,
        )
        return self.app_auth

    @property
    def app_mode(self) -> bool:
        """Tell whether the worker acts as a GitHub App installation."""
        return self._app is not None

    def _close_sync(self) -> None:
        if self._gh is not None:
            self._gh.close()
            self._gh = None

    # status ---------------------------------------------------------------------------------------------------
    @property
    def requests_made(self) -> int:
        """Requests sent so far (a 304 included)."""
        return self._stats.requests

    @property
    def not_modified(self) -> int:
        """How many of those requests GitHub answered 304 (free)."""
        return self._stats.not_modified

    @property
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        """The last seen state of each rate-limit bucket."""
        return dict(self._stats.limits)

    @property
    def rate_limit_remaining(self) -> int | None:
        """Core requests left in this window, as last seen."""
        info = self._stats.limits.get("core")
        return info.remaining if info else None

    @property
    def rate_limit_reset(self) -> datetime | None:
        """When the core window resets, as last seen."""
        info = self._stats.limits.get("core")
        return info.reset_at if info else None

    @property
    def backoffs(self) -> dict[str, datetime]:
        """The resources (``core``, ``graphql``, ``search``) held back now, each until when."""
        now = self._clock.now()
        return {name: until for name, until in self._stats.backoff.items() if until > now}

    @property
    def backoff_until(self) -> datetime | None:
        """Until when a rate limit holds calls back (None when free)."""
        now = self._clock.now()
        active = [until for until in self._stats.backoff.values() if until > now]
        return max(active) if active else None

    # running on the worker ------------------------------------------------------------------------------------
    async def call(self, fn: Callable[[Github], T], resource: str = "core") -> T:
        """Run ``fn(github)`` on the worker thread; ``fn`` must return plain data only."""
        if self._executor is None:
            raise RuntimeError("the GitHub worker is not started")
        until = self._stats.backoff.get(resource)
        if until is not None and until > self._clock.now():
            raise RateLimited(until, secondary=False, resource=resource)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, fn, resource)

    def _guarded(self, fn: Callable[[Github], T], resource: str) -> T:
        try:
            return self._attempt(fn, resource)
        except GitHubError as exc:
            if exc.status != 401 or self.app_auth is None:
                raise
            # GitHub refused the installation token before PyGithub expected it to lapse: fetch a new one, once.
            log.warning("GitHub refused the installation token (%s); fetching a new one", exc)
            self.app_auth.reset()
            return self._attempt(fn, resource)

    def _attempt(self, fn: Callable[[Github], T], resource: str) -> T:
        assert self._gh is not None
        try:
            result = fn(self._gh)
            self._stats.secondary_hits.pop(resource, None)
            return result
        except GitHubError as exc:
            if isinstance(exc, RateLimited):
                self._hold(exc)
            raise
        except RateLimitExceededException as exc:
            limited = self._rate_limited(exc.status, lower(exc.headers), exc.data, resource)
            self._hold(limited)
            raise limited from None
        except GithubException as exc:
            raise self._translate(exc.status, exc.data) from None
        except requests.exceptions.RetryError as exc:
            if re.search(r"too many (403|429) error", str(exc)):
                limited = RateLimited(
                    self._clock.now() + timedelta(seconds=self._secondary_wait(resource)), True, resource
                )
                self._hold(limited)
                raise limited from None
            failing = re.search(r"too many (5\d\d) error", str(exc))
            status = int(failing.group(1)) if failing else None
            raise GitHubUnavailable(f"GitHub kept failing: {short(exc)}", status) from None
        except (requests.exceptions.RequestException, Urllib3Error, OSError) as exc:
            raise GitHubUnavailable(f"cannot reach GitHub: {short(exc)}") from None

    def _hold(self, exc: RateLimited) -> None:
        """Hold back calls to the limited resource only (REST core, GraphQL and search have separate limits)."""
        name = exc.resource
        self._stats.backoff[name] = max(self._stats.backoff.get(name, exc.reset_at), exc.reset_at)
        log.warning("%s", exc)

    def _secondary_wait(self, resource: str) -> float:
        """Seconds to wait after a secondary limit without ``retry-after``: 60 s, doubling while it repeats."""
        hits = self._stats.secondary_hits.get(resource, 0)
        self._stats.secondary_hits[resource] = hits + 1
        return min(SECONDARY_WAIT * 2**hits, SECONDARY_WAIT_MAX)

    def _rate_limited(self, status: int, headers: Mapping[str, str], data: Any, resource: str) -> RateLimited:
        message = str(data.get("message", "")) if isinstance(data, Mapping) else str(data or "")
        secondary = "secondary" in message.lower() or (
            "retry-after" in headers and headers.get("x-ratelimit-remaining") != "0"
        )
        resource = headers.get("x-ratelimit-resource", resource)
        if "retry-after" in headers:
            wait = to_float(headers["retry-after"])
        elif secondary or "x-ratelimit-reset" not in headers:
            wait = self._secondary_wait(resource)
        else:
            wait = to_float(headers["x-ratelimit-reset"]) - time.time()  # GitHub's reset is wall-clock epoch
        return RateLimited(self._clock.now() + timedelta(seconds=max(wait, 1.0)), secondary, resource)

    @staticmethod
    def _translate(status: int, data: Any) -> GitHubError:
        message = data.get("message") if isinstance(data, Mapping) else None
        text = f"GitHub answered {status}: {message or 'error'}"
        if status == 404:
            return NotFound(text, status)
        if status >= 500:
            return GitHubUnavailable(text, status)
        return GitHubError(text, status)

    def _note(self, headers: Mapping[str, str], status: int) -> None:
        self._stats.requests += 1
        if status == 304:
            self._stats.not_modified += 1
        if "x-ratelimit-remaining" in headers:
            reset = headers.get("x-ratelimit-reset")
            reset_at = (self._clock.now() + timedelta(seconds=to_float(reset) - time.time())) if reset else None
            resource = headers.get("x-ratelimit-resource", "core")
            self._stats.limits[resource] = RateLimitInfo(
                resource,
                int(to_float(headers.get("x-ratelimit-limit"))),
                int(to_float(headers.get("x-ratelimit-remaining"))),
                reset_at,
            )

    def request_sync(
        self,
        gh: Github,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        etag: str | None = None,
        accept: str | None = None,
    ) -> JsonResponse:
        """GET ``url`` on the worker thread, raising typed errors; a 304 comes back as ``not_modified``."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if accept:
            headers["Accept"] = accept
        status, raw_headers, body = gh.requester.requestJson("GET", url, parameters=dict(params or {}), headers=headers)
        lowered = lower(raw_headers)
        self._note(lowered, status)
        data = json.loads(body) if body and status != 304 else None
        if status in (403, 429) and (
            lowered.get("x-ratelimit-remaining") == "0" or "retry-after" in lowered or "rate limit" in str(data).lower()
        ):
            raise self._rate_limited(status, lowered, data, lowered.get("x-ratelimit-resource", "core"))
        if status >= 400:
            raise self._translate(status, data)
        match = _NEXT_LINK.search(lowered.get("link", ""))
        return JsonResponse(status, data, lowered.get("etag"), match.group(1) if match else None)

    # primitives for polling and backfill ----------------------------------------------------------------------
    async def get_json(
        self, url: str, *, params: Mapping[str, Any] | None = None, etag: str | None = None, accept: str | None = None
    ) -> JsonResponse:
        """GET one REST resource or page, conditionally when ``etag`` is given."""
        return await self.call(lambda gh: self.request_sync(gh, url, params=params, etag=etag, accept=accept))

    async def get_all(
        self, url: str, *, params: Mapping[str, Any] | None = None, max_pages: int = 10, accept: str | None = None
    ) -> list[Any]:
        """GET every page of a list (following ``Link: rel="next"``, at most ``max_pages``)."""

        def fetch(gh: Github) -> list[Any]:
            items: list[Any] = []
            page: JsonResponse | None = self.request_sync(
                gh, url, params={"per_page": 100, **(params or {})}, accept=accept
            )
            for _ in range(max_pages):
                assert page is not None
                items.extend(page.data or [])
                if page.next_url is None:
                    break
                page = self.request_sync(gh, page.next_url, accept=accept)
            return items

        return await self.call(fetch)

    async def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run one GraphQL query and return its ``data``.

        GitHub answers errors with HTTP 200 and an ``errors`` list: ``RATE_LIMITED`` becomes :class:`RateLimited`
        (held until the window resets), a missing repository :class:`NotFound`, anything else
        :class:`GraphQLFailed` naming the error types and carrying whatever partial ``data`` came with them.
        """
        return await self.call(lambda gh: self._graphql_sync(gh, query, dict(variables)), resource="graphql")

    def _graphql_sync(self, gh: Github, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        status, raw_headers, body = gh.requester.requestJson(
            "POST", gh.requester.graphql_url, input={"query": query, "variables": variables}
        )
        headers = lower(raw_headers)
        self._note(headers, status)
        try:
            answer = json.loads(body) if body else {}
        except ValueError:
            answer = {}
        if status in (403, 429) or (status >= 400 and "rate limit" in str(answer).lower()):
            raise self._rate_limited(status, headers, answer, "graphql")
        if status >= 400:
            raise self._translate(status, answer if isinstance(answer, dict) else None)
        errors = [e for e in (answer.get("errors") or []) if isinstance(e, dict)]
        data = answer.get("data") if isinstance(answer.get("data"), dict) else None
        retry.note_graphql_limit(self._stats, self._clock, data)
        if not errors:
            return dict(data or {})
        kinds = {str(error.get("type") or "") for error in errors}
        if "RATE_LIMITED" in kinds:
            raise retry.graphql_limited(self._clock, headers)
        if kinds == {"NOT_FOUND"} and (data is None or data.get("repository") is None):
            raise NotFound(f"GitHub answered NOT_FOUND: {errors[0].get('message')}", 404)
        raise GraphQLFailed(errors, data)

    async def rate_limit(self) -> dict[str, RateLimitInfo]:
        """Ask GitHub for every rate-limit bucket (this request is free)."""
        response = await self.get_json("/rate_limit")
        now = self._clock.now()
        limits = {}
        for name, bucket in ((response.data or {}).get("resources") or {}).items():
            reset_at = now + timedelta(seconds=float(bucket.get("reset", 0)) - time.time())
            limits[name] = RateLimitInfo(name, int(bucket.get("limit", 0)), int(bucket.get("remaining", 0)), reset_at)
        self._stats.limits.update(limits)
        return limits
