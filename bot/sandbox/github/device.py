"""GitHub's OAuth device flow: /login/device/code and /login/oauth/access_token."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.clock import Clock
from bot.sandbox.github.state import DeviceCode, World

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
EXPIRES_IN = 900
INTERVAL = 5  # GitHub's default polling interval; slow_down adds SLOW_DOWN_STEP
SLOW_DOWN_STEP = 5
POLL_TOLERANCE = 0.2
ERROR_URI = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"
_DESCRIPTIONS = {
    "authorization_pending": "The authorization request is still pending.",
    "slow_down": "Too many requests have been made in the same timeframe.",
    "expired_token": "The device_code has expired.",
    "access_denied": "The user has denied your application access.",
    "unsupported_grant_type": "The grant type is not supported.",
    "incorrect_client_credentials": "The client_id is not valid.",
    "incorrect_device_code": "The device_code provided is not valid.",
    "device_flow_disabled": "Device flow must be explicitly enabled for this App",
}


def _normalise(user_code: str) -> str:
    return user_code.strip().upper().replace("-", "")


class DeviceFlow:
    """Issue device codes, answer polls, and let the control API approve or deny them."""

    def __init__(self, world: World, clock: Clock, interval: int = INTERVAL) -> None:
        self.world = world
        self.clock = clock
        self.interval = interval
        self.disabled = False
        self.base = ""
        self.codes: dict[str, DeviceCode] = {}
        self._by_user_code: dict[str, DeviceCode] = {}

    def _expired(self, code: DeviceCode) -> bool:
        return self.clock.now() >= code.created_at + timedelta(seconds=code.expires_in)

    def pending(self) -> list[str]:
        """Return the user codes still waiting for the user, oldest first."""
        return [c.user_code for c in self.codes.values() if c.status == "pending" and not self._expired(c)]

    def lookup(self, user_code: str) -> DeviceCode:
        """Return the authorization for ``user_code``; KeyError if unknown."""
        code = self._by_user_code.get(_normalise(user_code))
        if code is None:
            raise KeyError(f"no device code with user code {user_code!r}")
        return code

    def approve(self, user_code: str, login: str) -> DeviceCode:
        """Complete the authorization as ``login`` (the user typed the code and clicked Authorize)."""
        code = self.lookup(user_code)
        self.world.ensure_user(login, "User", self.clock.now())
        code.status, code.login = "approved", login
        return code

    def deny(self, user_code: str) -> DeviceCode:
        """Record that the user clicked Cancel."""
        code = self.lookup(user_code)
        code.status = "denied"
        return code

    def new_code(self, client_id: str, scope: str) -> DeviceCode:
        """Create a device code for ``client_id``."""
        while True:
            letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
            if letters not in self._by_user_code:
                break
        code = DeviceCode(
            device_code=secrets.token_hex(20),
            user_code=f"{letters[:4]}-{letters[4:]}",
            client_id=client_id,
            scope=scope,
            created_at=self.clock.now(),
            expires_in=EXPIRES_IN,
            interval=self.interval,
        )
        self.codes[code.device_code] = code
        self._by_user_code[letters] = code
        return code

    def poll(self, params: dict[str, str]) -> dict[str, Any]:
        """Answer one access-token poll as GitHub does (errors are 200 with an ``error`` field)."""
        if params.get("grant_type") != GRANT_TYPE:
            return self._error("unsupported_grant_type")
        if self.disabled:
            return self._error("device_flow_disabled")
        code = self.codes.get(params.get("device_code", ""))
        if code is None:
            return self._error("incorrect_device_code")
        if params.get("client_id") != code.client_id:
            return self._error("incorrect_client_credentials")
        now = self.clock.now()
        last, code.last_poll = code.last_poll, now
        if self._expired(code) or code.status == "used":
            return self._error("expired_token")
        if code.status == "denied":
            return self._error("access_denied")
        if last is not None and (now - last).total_seconds() < code.interval - POLL_TOLERANCE:
            code.interval += SLOW_DOWN_STEP
            return {**self._error("slow_down"), "interval": code.interval}
        if code.status == "approved" and code.login is not None:
            token = "gho_" + secrets.token_urlsafe(27)[:36]
            self.world.tokens[token] = code.login
            code.status, code.token = "used", token
            return {"access_token": token, "token_type": "bearer", "scope": code.scope}
        return self._error("authorization_pending")

    @staticmethod
    def _error(error: str) -> dict[str, Any]:
        return {"error": error, "error_description": _DESCRIPTIONS[error], "error_uri": ERROR_URI}

    # HTTP -----------------------------------------------------------------------------------------------------
    @staticmethod
    async def _params(request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                if isinstance(body, dict):
                    params.update({key: str(value) for key, value in body.items() if value is not None})
            else:
                params.update(dict(await request.post()))  # type: ignore[arg-type]
        return params

    @staticmethod
    def _reply(request: web.Request, data: dict[str, Any], status: int = 200) -> web.Response:
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response(data, status=status)
        body = urlencode({key: str(value) for key, value in data.items()})
        return web.Response(text=body, status=status, content_type="application/x-www-form-urlencoded")

    async def handle_code(self, request: web.Request) -> web.Response:
        """POST /login/device/code."""
        params = await self._params(request)
        client_id = params.get("client_id", "")
        if not client_id:
            return self._reply(request, {"error": "Not Found"}, status=404)
        if self.disabled:
            return self._reply(request, self._error("device_flow_disabled"), status=400)
        code = self.new_code(client_id, params.get("scope", ""))
        data = {
            "device_code": code.device_code,
            "user_code": code.user_code,
            "verification_uri": f"{self.base}/login/device",
            "expires_in": code.expires_in,
            "interval": code.interval,
        }
        return self._reply(request, data)

    async def handle_token(self, request: web.Request) -> web.Response:
        """POST /login/oauth/access_token."""
        return self._reply(request, self.poll(await self._params(request)))

    async def handle_page(self, request: web.Request) -> web.Response:
        """GET /login/device: where a person would type the code."""
        text = "<!doctype html><title>Device activation</title><p>Enter the code shown by the application.</p>"
        return web.Response(text=text, content_type="text/html")
