"""The gate's check of a GitHub App's own requests: a JWT signed with the App's private key, not a token."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.sandbox.github.apps import BAD_JWT, AppRefused
from bot.sandbox.github.replies import error_reply

# Routes a GitHub App calls as itself, with a JWT signed by its private key (not with a token).
APP_ROUTES = {
    "/app",
    "/app/installations",
    r"/app/installations/{installation_id}",
    r"/app/installations/{installation_id}/access_tokens",
    "/repos/{owner}/{repo}/installation",
}


def app_auth(request: web.Request, app_login: Callable[[str], str] | None) -> str | web.Response:
    """Check the App's JWT (``Authorization: Bearer``); return the App bot's login or GitHub's refusal."""

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if app_login is None or scheme.lower() != "bearer" or not token.strip():
        return error_reply(401, BAD_JWT if token.strip() else "Bad credentials")
    try:
        return app_login(token.strip())
    except AppRefused as refused:
        return error_reply(refused.status, refused.message)
