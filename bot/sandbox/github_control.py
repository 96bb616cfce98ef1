"""Control routes for GitHub behaviours of the second round: renames, deleted accounts, delivery order, refusals.

They follow ``SANDBOX_API.md`` ("Additions of the second round"). ``?deliver=hold`` on any change route is
handled by the control API's guard (it holds that change's webhooks until ``/github/deliveries/release``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.github.emulator import GitHubEmulator

Body = Callable[[web.Request], Awaitable[dict[str, Any]]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, default=str), content_type="application/json")


def add_github_routes(routes: web.RouteTableDef, github: GitHubEmulator, body: Body) -> None:
    """Add the second round's GitHub routes to the control API's table."""

    @routes.post("/github/repos/{owner}/{repo}/rename")
    async def rename_repo(request: web.Request) -> web.Response:
        data = await body(request)
        new_name = _field(data, "full_name")
        current = f"{request.match_info['owner']}/{request.match_info['repo']}"
        deliver = request.query.get("deliver", "true").lower() not in {"false", "0", "no"}
        return _json(await github.rename_repo(current, new_name, deliver=deliver))

    @routes.post("/github/users/{login}/rename")
    async def rename_user(request: web.Request) -> web.Response:
        new_login = _field(await body(request), "login")
        return _json(await github.rename_user(request.match_info["login"], new_login))

    @routes.delete("/github/users/{login}")
    async def delete_user(request: web.Request) -> web.Response:
        return _json(await github.delete_user(request.match_info["login"]))

    @routes.get("/github/comments")
    async def comments(request: web.Request) -> web.Response:
        repo, number = request.query.get("repo", ""), request.query.get("number", "")
        if not repo or not number.isdigit():
            raise ValueError("give ?repo=owner/name&number=N")
        return _json(github.bot_comments(repo, int(number)))

    @routes.post("/github/deliveries/release")
    async def release(request: web.Request) -> web.Response:
        data = await body(request)
        seed = data.get("seed")
        return _json(
            await github.release_deliveries(str(data.get("order", "as-held")), None if seed is None else int(seed))
        )

    def _repos(data: dict[str, Any]) -> list[str] | None:
        repos = data.get("repos")
        if repos is None:
            return None
        if not isinstance(repos, list) or not all(isinstance(r, str) and r for r in repos):
            raise ValueError("repos must be a list of repository full names")
        return repos

    @routes.post("/github/app/install")
    async def app_install(request: web.Request) -> web.Response:
        deliver = request.query.get("deliver", "true").lower() not in {"false", "0", "no"}
        return _json(await github.install_app(_repos(await body(request)) or [], deliver=deliver))

    @routes.delete("/github/app/install")
    async def app_uninstall(request: web.Request) -> web.Response:
        deliver = request.query.get("deliver", "true").lower() not in {"false", "0", "no"}
        return _json(await github.uninstall_app(_repos(await body(request)), deliver=deliver))

    @routes.post("/github/app/suspend")
    async def app_suspend(request: web.Request) -> web.Response:
        return _json(await github.suspend_app(bool((await body(request)).get("suspended", True))))

    @routes.post("/github/app/tokens/expire")
    async def app_expire(request: web.Request) -> web.Response:
        return _json(github.expire_app_tokens())

    @routes.post("/github/deliveries/{delivery}/redeliver")
    async def redeliver(request: web.Request) -> web.Response:
        return _json(await github.redeliver(request.match_info["delivery"]))


def _field(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing field: {key}")
    return value
