"""HTTP plumbing of the GitHub emulator: auth, faults, rate limits, ETags, request counts, pagination."""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.sandbox.github.app_gate import APP_ROUTES, app_auth
from bot.sandbox.github.buckets import LIMITS, WINDOW_SCALES, Bucket
from bot.sandbox.github.replies import DOCS, error_reply, json_reply
from bot.sandbox.github.search import SearchError
from bot.sandbox.rejections import Rejections

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_ROUTES = {
    "/login/device/code",
    "/login/oauth/access_token",
    "/login/device",
    "/gist-raw/{owner}/{gist_id}/raw/{filename}",
    "/gist/{owner}/{gist_id}",
    "/app-manifests/{code}/conversions",
    "/settings/apps/new",
}
FREE_ROUTES = {"/rate_limit"}
PRIMARY_MESSAGE = (
    "API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, please include "
    "the request ID {request_id} and timestamp {stamp}."
)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out "
    "to GitHub Support for help, please include the request ID {request_id}."
)
LOGIN = web.RequestKey("login", str)
INJECTED = web.RequestKey("injected", bool)


@dataclass(slots=True)
class Fault:
    """The next ``times`` requests matching ``method`` and ``route`` fail with ``status``."""

    method: str
    route: str
    status: int | str
    times: int
    retry_after: float = 1
    max_nodes: int | None = None


GRAPHQL_FAULTS = {"graphql-rate-limited", "graphql-timeout"}
SECONDARY_FAULTS = {"secondary-rate-limit", "secondary-rate-limit-no-retry-after"}
GRAPHQL_LIMITED = "API rate limit already exceeded for user ID {user_id}."


class Moved(Exception):
    """Answer 301: the repository was renamed or transferred; ``old`` and ``new`` are full names."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"{old} moved to {new}")
        self.old = old
        self.new = new


class NotFound(Exception):
    """Answer 404 Not Found."""


def template_of(request: web.Request) -> str:
    """Return the route template a request matched (its path when none matched)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def resource_of(template: str) -> str:
    """Return the rate-limit resource a route counts against."""
    if template == "/graphql":
        return "graphql"
    return "search" if template.startswith("/search/") else "core"


class PageCapExceeded(Exception):
    """Answer 422: the page asked for lies beyond GitHub's pagination cap for this list."""


PAGE_CAP_MESSAGE = (
    "In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last "
    "link relation in the Link response header to see how far back you can traverse."
)


def paginate(
    base: str, request: web.Request, rows: list[Any], cap: int | None = None, max_pages: int | None = None
) -> tuple[list[Any], str | None]:
    """Return this page of ``rows`` and the ``Link`` header (rooted at ``base``) for per_page/page.

    ``cap`` limits how many rows can be reached at all (search: 1,000); ``max_pages`` is GitHub's page cap
    (stargazers: 400): a page beyond it raises :class:`PageCapExceeded`.
    """
    try:
        per_page = min(max(int(request.query.get("per_page", 30)), 1), 100)
        page = max(int(request.query.get("page", 1)), 1)
    except ValueError:
        per_page, page = 30, 1
    if max_pages is not None and page > max_pages:
        raise PageCapExceeded
    total = len(rows) if cap is None else min(len(rows), cap)
    if max_pages is not None:
        total = min(total, max_pages * per_page)
    last = max(1, math.ceil(total / per_page))
    chunk = rows[(page - 1) * per_page : min(page * per_page, total)] if page <= last else []
    path = request.rel_url.raw_path

    def url(number: int) -> str:
        query = {**request.query, "page": str(number)}
        return f"{base}{path}?{urlencode(query)}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return chunk, ", ".join(links) or None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


class Gate:
    """The middleware: counts requests, checks tokens, injects faults, enforces rate limits, answers 304s."""

    def __init__(
        self,
        tokens: Callable[[str], str | None],
        user_id: Callable[[str], int],
        rate_limits: str = "real",
        *,
        app_login: Callable[[str], str] | None = None,
    ) -> None:
        if rate_limits not in WINDOW_SCALES:
            raise ValueError(f"rate limits must be one of {sorted(WINDOW_SCALES)}, not {rate_limits!r}")
        self._tokens = tokens
        self._app_login = app_login
        self._user_id = user_id
        self.counts: dict[str, dict[str, int]] = {}
        self.faults: list[Fault] = []
        scale = self.scale = WINDOW_SCALES[rate_limits]
        self.buckets = {name: Bucket(limit, max(1, round(period * scale))) for name, (limit, period) in LIMITS.items()}
        self.rejections = Rejections()

    def reject(self, request: web.Request, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        """Note a refusal answered with HTTP 200 (GraphQL ``errors``); other statuses are noted by the middleware."""
        self.rejections.record(request.method, template_of(request), status, code, message, **extra)

    def take_graphql_fault(self, nodes: int) -> Fault | None:
        """Take a GraphQL fault for a query of ``nodes`` nodes (a timeout only hits queries above its size)."""
        for fault in self.faults:
            if fault.status not in GRAPHQL_FAULTS or fault.times <= 0:
                continue
            if fault.status == "graphql-timeout" and nodes <= (fault.max_nodes or 0):
                continue
            fault.times -= 1
            if fault.times == 0:
                self.faults.remove(fault)
            return fault
        return None

    def graphql_limited(self, login: str | None, retry_after: float | None = None) -> web.Response:
        """Answer a spent GraphQL budget as GitHub does: HTTP 200 with a ``RATE_LIMITED`` error."""
        user_id = self._user_id(login) if login else 0
        message = GRAPHQL_LIMITED.format(user_id=user_id)
        error = {"type": "RATE_LIMITED", "code": "graphql_rate_limit", "message": message}
        response = json_reply({"errors": [error]})
        response.headers.update(self._rate_headers("graphql"))
        response.headers["X-RateLimit-Remaining"] = "0"
        if retry_after is not None:
            response.headers["X-RateLimit-Reset"] = str(math.ceil(time.time() + retry_after))
        return response

    def _take_fault(self, method: str, template: str) -> Fault | None:
        for fault in self.faults:
            if fault.status in GRAPHQL_FAULTS:
                continue
            if fault.method in (method, "*") and fault.route in (template, "*") and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _rate_headers(self, resource: str) -> dict[str, str]:
        bucket = self.buckets[resource]
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining),
            "X-RateLimit-Reset": str(bucket.reset),
            "X-RateLimit-Used": str(bucket.used),
            "X-RateLimit-Resource": resource,
        }

    def _login(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            return None
        return self._tokens(token.strip())

    def _fault_reply(self, fault: Fault, login: str | None, request_id: str, resource: str) -> web.Response:
        bucket = self.buckets[resource]
        if fault.status in SECONDARY_FAULTS:
            response = error_reply(403, SECONDARY_MESSAGE.format(request_id=request_id))
            response.headers.update(self._rate_headers(resource))
            if fault.status == "secondary-rate-limit":
                response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
            return response
        status = int(fault.status)
        if status in (403, 429):
            user_id = self._user_id(login) if login else 0
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            message = PRIMARY_MESSAGE.format(user_id=user_id, request_id=request_id, stamp=stamp)
            response = error_reply(status, message)
            response.headers.update(self._rate_headers(resource))
            response.headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Used": str(bucket.limit),
                    "X-RateLimit-Reset": str(math.ceil(time.time() + fault.retry_after)),
                }
            )
            return response
        messages = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        response = error_reply(status, messages.get(status, "Fault injected by the sandbox"))
        response.headers.update(self._rate_headers(resource))
        return response

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Wrap every request, and note each refusal the caller did not ask for with ``POST /github/faults``."""
        response = await self._gate(request, handler)
        if response.status >= 400 and response.status != 404 and not request.get(INJECTED, False):
            self._note_rejection(request, response)
        return response

    def _note_rejection(self, request: web.Request, response: web.StreamResponse) -> None:
        message = ""
        raw = response.body if isinstance(response, web.Response) else None
        if isinstance(raw, bytes):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                message = str(parsed.get("message", ""))
        self.rejections.record(request.method, template_of(request), response.status, None, message)

    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer one request; the order follows GitHub (auth, faults, limit, handler, ETag)."""
        template = template_of(request)
        key = f"{request.method} {template}"
        counts = self.counts.setdefault(key, {"requests": 0, "not_modified": 0})
        counts["requests"] += 1
        resource = resource_of(template)
        request_id = uuid.uuid4().hex[:16].upper()
        common = {"X-GitHub-Request-Id": request_id, "Server": "GitHub.com"}
        is_open = template in OPEN_ROUTES
        login = None
        if template in APP_ROUTES:
            refused = app_auth(request, self._app_login)
            if isinstance(refused, web.Response):
                refused.headers.update(common)
                return refused
            request[LOGIN] = login = refused
        elif not is_open:
            login = self._login(request)
            if login is None:
                response = error_reply(401, "Bad credentials")
                response.headers.update({**common, **self._rate_headers(resource)})
                return response
            request[LOGIN] = login
        fault = self._take_fault(request.method, template)
        if fault is not None:
            request[INJECTED] = True
            response = self._fault_reply(fault, login, request_id, resource)
            response.headers.update(common)
            return response
        counted = not is_open and template not in FREE_ROUTES
        if counted and self.buckets[resource].remaining <= 0:
            if resource == "graphql":
                self.reject(request, 200, "the GraphQL rate limit is spent", "RATE_LIMITED")
                response = self.graphql_limited(login)
                response.headers.update(common)
                return response
            response = self._fault_reply(Fault(request.method, template, 403, 1, 0), login, request_id, resource)
            response.headers.update({**common, **self._rate_headers(resource)})
            return response
        answer = await self._run(request, handler)
        if request.method == "GET" and answer.status == 200 and isinstance(answer, web.Response):
            body = answer.body if isinstance(answer.body, bytes) else b""
            digest = hashlib.sha256(body + answer.headers.get("Link", "").encode()).hexdigest()
            etag = f'W/"{digest}"'
            answer.headers["ETag"] = etag
            if _etag_matches(request.headers.get("If-None-Match"), etag):
                counts["not_modified"] += 1
                headers = {**common, **self._rate_headers(resource), "ETag": etag}
                return web.Response(status=304, headers=headers)
        if counted:
            self.buckets[resource].used += 1
        answer.headers.update(common)
        if not is_open:
            for name, value in self._rate_headers(resource).items():
                answer.headers.setdefault(name, value)  # a GraphQL RATE_LIMITED answer sets its own
            answer.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
            answer.headers.setdefault("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        return answer

    @staticmethod
    async def _run(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except (NotFound, KeyError):
            return error_reply(404, "Not Found")
        except SearchError as exc:
            return error_reply(422, f"Validation Failed: {exc}")
        except PageCapExceeded:
            return error_reply(422, PAGE_CAP_MESSAGE, "https://docs.github.com/v3/#pagination")
        except Moved as exc:
            return _moved(request, exc)
        except web.HTTPException as exc:
            if exc.status == 404:
                return error_reply(404, "Not Found")
            return error_reply(exc.status, exc.reason)


def _moved(request: web.Request, moved: Moved) -> web.Response:
    """Answer 301 to the same path under the repository's new name, keeping the query string."""
    old = f"/repos/{moved.old}"
    path = request.rel_url.raw_path
    rest = path[len(old) :] if path.lower().startswith(old.lower()) else ""
    location = str(request.url.with_path(f"/repos/{moved.new}{rest}", encoded=False).with_query(request.query))
    docs = DOCS + "/guides/best-practices-for-using-the-rest-api#follow-redirects"
    response = json_reply({"message": "Moved Permanently", "url": location, "documentation_url": docs}, status=301)
    response.headers["Location"] = location
    return response
