"""GitHub's OAuth device flow (RFC 8628) for /link: show a code, poll for the token, read /user, forget the token.

PyGithub has no device flow, so this is a small aiohttp client. GitHub reports flow errors as a JSON
``error`` field with any HTTP status, so the field decides, not the status. A network failure surfaces
as ``aiohttp.ClientError`` or ``TimeoutError``. The access token is never logged, never stored, and
hidden from ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from bot.github.types import GitHubUser, user_from_json

log = logging.getLogger(__name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5
TokenStatus = Literal["ok", "pending", "slow_down", "expired", "denied", "error"]
_STATUSES: dict[str, TokenStatus] = {
    "authorization_pending": "pending",
    "slow_down": "slow_down",
    "expired_token": "expired",
    "access_denied": "denied",
}


class DeviceFlowError(Exception):
    """The device flow cannot go on; ``code`` is GitHub's error name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DeviceFlowExpired(DeviceFlowError):
    """The code expired before the user approved it."""


class DeviceFlowDenied(DeviceFlowError):
    """The user cancelled the authorization."""


@dataclass(frozen=True)
class DeviceCode:
    """What to show the user, and what to poll with."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TokenResult:
    """One poll's answer: a token (``status == "ok"``), or why not yet, with the interval to keep."""

    status: TokenStatus
    access_token: str | None = field(default=None, repr=False)
    interval: int | None = None
    error: str | None = None


class DeviceFlow:
    """Talk to GitHub's device-flow endpoints and its /user API."""

    def __init__(
        self,
        oauth_url: str = "https://github.com",
        *,
        timeout: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.oauth_url = oauth_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        """Close the HTTP session if this object opened it."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        session = await self._client()
        async with session.post(f"{self.oauth_url}{path}", data=form, headers={"Accept": "application/json"}) as r:
            status = r.status
            try:
                data = await r.json(content_type=None)
            except ValueError:
                data = None
        if not isinstance(data, dict):
            raise DeviceFlowError("bad_response", f"GitHub answered {status} without JSON at {path}")
        return data

    async def request_code(self, client_id: str, scope: str = "") -> DeviceCode:
        """Ask for a device code and the user code to show."""
        data = await self._post("/login/device/code", {"client_id": client_id, "scope": scope})
        if "error" in data or "device_code" not in data:
            error = str(data.get("error") or "bad_response")
            raise DeviceFlowError(error, f"GitHub refused a device code: {data.get('error_description') or error}")
        return DeviceCode(
            device_code=str(data["device_code"]),
            user_code=str(data["user_code"]),
            verification_uri=str(data["verification_uri"]),
            expires_in=int(data.get("expires_in", 900)),
            interval=int(data.get("interval", 5)),
        )

    async def poll_token(self, client_id: str, device_code: str) -> TokenResult:
        """Poll once for the token; a pending, slowed, expired or denied answer is a status, not an exception."""
        data = await self._post(
            "/login/oauth/access_token", {"client_id": client_id, "device_code": device_code, "grant_type": GRANT_TYPE}
        )
        if data.get("access_token"):
            return TokenResult("ok", access_token=str(data["access_token"]))
        error = str(data.get("error") or "bad_response")
        try:
            interval = int(data["interval"]) if "interval" in data else None
        except (TypeError, ValueError):
            interval = None
        return TokenResult(_STATUSES.get(error, "error"), interval=interval, error=error)

    async def wait_for_token(
        self,
        client_id: str,
        code: DeviceCode,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> str:
        """Poll at the code's interval until the user answers; raise DeviceFlowExpired or DeviceFlowDenied."""
        interval = float(code.interval)
        deadline = monotonic() + code.expires_in
        while True:
            await sleep(interval)
            if monotonic() > deadline:
                raise DeviceFlowExpired("expired_token", "the code expired before it was approved")
            result = await self.poll_token(client_id, code.device_code)
            if result.status == "ok" and result.access_token:
                return result.access_token
            if result.status == "slow_down":
                interval = float(result.interval) if result.interval else interval + SLOW_DOWN_STEP
                log.info("device flow: GitHub asked to slow down; polling every %.0f s", interval)
            elif result.status == "expired":
                raise DeviceFlowExpired("expired_token", "the code expired before it was approved")
            elif result.status == "denied":
                raise DeviceFlowDenied("access_denied", "the authorization was cancelled")
            elif result.status == "error":
                raise DeviceFlowError(result.error or "error", f"device flow failed: {result.error}")

    async def fetch_user(self, api_url: str, token: str) -> GitHubUser:
        """Read ``GET /user`` with the token: the account that approved the code."""
        session = await self._client()
        headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
        async with session.get(f"{api_url.rstrip('/')}/user", headers=headers) as resp:
            status = resp.status
            try:
                data = await resp.json(content_type=None) if status == 200 else None
            except ValueError:
                data = None
        if not isinstance(data, dict):
            raise DeviceFlowError("bad_token", f"GitHub answered {status} to GET /user")
        return user_from_json(data)
