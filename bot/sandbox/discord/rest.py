"""The REST plumbing shared by every route: exact JSON replies, auth, rate-limit headers, faults, counting."""

from __future__ import annotations

import json
import logging
import math
import mimetypes
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.clock import Clock
from bot.sandbox.discord.limits import Limited, RateLimiter
from bot.sandbox.rejections import Rejections

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
_MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_token", "interaction_id")
_LOGGED_REPLY_LIMIT = 64 * 1024


def _request_key(name: str) -> Any:
    """Return an aiohttp RequestKey where available (aiohttp >= 3.12), else the plain string."""
    factory = getattr(web, "RequestKey", None)
    return factory(name, object) if factory is not None else name


_PAYLOAD = _request_key("vestry_discord_payload")
_FILES = _request_key("vestry_discord_files")


def payload_of(request: web.Request) -> Any:
    """Return the parsed JSON body (or multipart ``payload_json``); None when there was none."""
    return request.get(_PAYLOAD)


def files_of(request: web.Request) -> list[UploadedFile]:
    """Return the uploaded ``files[n]`` parts of a multipart body."""
    return request.get(_FILES) or []


class ApiError(Exception):
    """An error reply in Discord's shape: ``{"message", "code"}`` plus optional field ``errors``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}
        self.scope = scope

    @classmethod
    def from_limited(cls, limited: Limited) -> ApiError:
        """Turn a rate-limit refusal into an error reply (the ban, with no JSON body, keeps a text marker)."""
        body = dict(limited.body or {"message": "error code: 1015", "code": 0})
        message, code = str(body.pop("message")), int(body.pop("code"))
        return cls(limited.status, code, message, extra=body, headers=limited.headers, scope=limited.scope)

    def body(self) -> dict[str, Any]:
        """Return the JSON body."""
        data: dict[str, Any] = {"message": self.message, "code": self.code, **self.extra}
        if self.errors:
            data["errors"] = self.errors
        return data

    def response(self) -> web.Response:
        """Return the reply (the IP ban answers in plain text, without ``Via``, as Cloudflare does)."""
        if self.scope == "ban":
            return web.Response(status=429, text=self.message, headers=self.headers)
        response = json_response(self.body(), self.status)
        response.headers.update(self.headers)
        return response


def form_error(path: str, code: str, message: str) -> ApiError:
    """Return Discord's 50035 "Invalid Form Body" error for one field (dotted path)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def json_response(data: Any, status: int = 200) -> web.Response:
    """Reply with JSON and a Content-Type of exactly ``application/json`` (discord.py compares with ==)."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": "application/json"})


def no_content() -> web.Response:
    """Reply 204 with no body."""
    return web.Response(status=204)


@dataclass
class UploadedFile:
    """One ``files[n]`` part of a multipart body."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Fault:
    """The next ``times`` requests matching ``method`` and ``route`` fail with ``status``."""

    method: str
    route: str
    status: int
    times: int
    retry_after: float = 0.5

    def matches(self, method: str, template: str, path: str) -> bool:
        """Tell whether a request (route template or concrete path) is one this fault hits."""
        if self.method not in ("*", method):
            return False
        route = self.route if self.route.startswith("/") else "/" + self.route
        route = route.removeprefix(API_PREFIX)
        return route in (template, path)


class RestLayer:
    """Wrap route handlers with the behaviour every Discord REST route shares."""

    def __init__(self, token: str, clock: Clock, rate_limits: str = "real") -> None:
        self.token = token
        self.clock = clock
        self.faults: list[Fault] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=2000)
        self.limiter = RateLimiter(rate_limits)
        self.rejections = Rejections()

    def add_routes(self, app: web.Application, routes: list[tuple[str, str, Handler, bool]]) -> None:
        """Register ``(method, template, handler, needs_bot_auth)`` routes under ``/api/v10``."""
        for method, template, handler, auth in routes:
            app.router.add_route(method, API_PREFIX + template, self._wrap(method, template, handler, auth))
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._wrap("*", "/{unknown}", _not_found, False))

    def _wrap(self, method: str, template: str, handler: Handler, auth: bool) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            real_method = request.method
            path = request.path.removeprefix(API_PREFIX)
            route = f"{real_method} {template if method != '*' else path}"
            major = next((request.match_info[p] for p in _MAJOR_PARAMETERS if p in request.match_info), "")
            self.counts.setdefault(route, {"requests": 0, "not_modified": 0})["requests"] += 1
            entry: dict[str, Any] = {"method": real_method, "route": template, "path": path, "status": 0}
            entry["query"] = dict(request.query)
            self.log.append(entry)
            response = await self._respond(request, route, path, major, handler, auth, entry)
            entry["status"] = response.status
            body = response.body if isinstance(response, web.Response) else None
            if isinstance(body, bytes) and len(body) <= _LOGGED_REPLY_LIMIT:
                entry["reply_body"] = body  # raw bytes; parsed only by whoever reads the log
            return response

        return wrapped

    async def _respond(
        self,
        request: web.Request,
        route: str,
        path: str,
        major: str,
        handler: Handler,
        auth: bool,
        entry: dict[str, Any],
    ) -> web.StreamResponse:
        method, template = route.split(" ", 1)
        fault = next((f for f in self.faults if f.times > 0 and f.matches(method, template, path)), None)
        if fault is not None:
            fault.times -= 1
            entry["fault"] = fault.status
            log.info("injecting %s into %s %s", fault.status, method, path)
            return _fault_response(fault.status, fault.retry_after)
        headers: dict[str, str] = {}
        try:
            headers, limited = self.limiter.take(route, major, path)
            if limited is not None:
                raise ApiError.from_limited(limited)
            if auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            await _read_body(request)
            entry["json"] = payload_of(request)
            if files_of(request):
                entry["files"] = [f.filename for f in files_of(request)]
            response = await handler(request)
        except ApiError as error:
            self.reject(method, template, error)
            response = error.response()
            for name, value in headers.items():
                response.headers.setdefault(name, value)
            return response
        except Exception as error:  # an emulator bug: fail loudly and fast (discord.py would retry a 500 for 25 s)
            log.exception("discord emulator failed on %s %s", method, path)
            self.reject(method, template, ApiError(400, 0, f"sandbox emulator error: {error!r}"))
            return json_response({"message": f"sandbox emulator error: {error!r}", "code": 0}, 400)
        response.headers.update(headers)
        return response

    def reject(self, method: str, template: str, error: ApiError) -> None:
        """Record a refusal for ``GET /discord/rejections`` and count it towards the invalid-request ban."""
        extra: dict[str, Any] = {}
        if error.errors:
            extra["errors"] = error.errors
        if error.status == 429:
            extra["global"] = bool(error.extra.get("global", False))
            extra["scope"] = error.scope or "user"
        self.rejections.record(method, template, error.status, error.code, error.message, **extra)
        self.limiter.note_status(error.status, error.scope)
        log.info("discord emulator refused %s %s: %s %s %s", method, template, error.status, error.code, error.message)

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Return ``{"METHOD /route/template": {"requests": n, "not_modified": 0}}``."""
        return {k: dict(v) for k, v in self.counts.items()}


async def _not_found(request: web.Request) -> web.Response:
    raise ApiError(404, 0, "404: Not Found")


def _fault_response(status: int, retry_after: float) -> web.Response:
    if status == 429:
        response = json_response(
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False, "code": 0}, 429
        )
        response.headers["Via"] = "1.1 google"
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        response.headers["X-RateLimit-Scope"] = "user"
        return response
    reason = _REASONS.get(status) or web.Response(status=status).reason or "Error"
    return json_response({"message": f"{status}: {reason}", "code": 0}, status)


async def _read_body(request: web.Request) -> None:
    """Parse a JSON or multipart (``payload_json`` + ``files[n]``) body, for payload_of() and files_of()."""
    request[_PAYLOAD] = None
    request[_FILES] = []
    if request.method not in ("POST", "PUT", "PATCH") or not request.can_read_body:
        return
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        files: list[UploadedFile] = []
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            if name == "payload_json":
                request[_PAYLOAD] = _loads(await part.text())
            elif part.filename is not None:
                data = bytes(await part.read(decode=False))
                declared = part.headers.get("Content-Type", "application/octet-stream")
                guessed = mimetypes.guess_type(part.filename)[0]
                content_type = guessed if declared == "application/octet-stream" and guessed else declared
                files.append(UploadedFile(name, part.filename, content_type.split(";")[0], data))
        request[_FILES] = files
        return
    raw = await request.read()
    if raw.strip():
        request[_PAYLOAD] = _loads(raw.decode("utf-8", "replace"))


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
