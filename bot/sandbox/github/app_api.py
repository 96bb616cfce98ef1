"""The REST routes of GitHub Apps: the App itself (JWT), installation tokens, and the manifest flow."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from aiohttp import web

from bot.sandbox.github.apps import AppRefused, GitHubApp, iso_epoch
from bot.sandbox.github.installs import Installations
from bot.sandbox.github.server import LOGIN, NotFound, error_reply, json_reply, paginate


class AppApi:
    """Route handlers for the App endpoints; the gate has checked the JWT or token before they run."""

    def __init__(self, emulator: Installations) -> None:
        self.emulator = emulator
        self.registry = emulator.world.apps

    def routes(self) -> list[web.RouteDef]:
        """Return the App routes."""
        return [
            web.get("/app", self.app),
            web.get("/app/installations", self.installations),
            web.get(r"/app/installations/{installation_id}", self.installation),
            web.post(r"/app/installations/{installation_id}/access_tokens", self.access_token),
            web.get("/repos/{owner}/{repo}/installation", self.repo_installation),
            web.get("/installation/repositories", self.installation_repositories),
            web.post("/app-manifests/{code}/conversions", self.conversion),
            web.post("/settings/apps/new", self.new_app),
        ]

    def _caller(self, request: web.Request) -> GitHubApp:
        login = request[LOGIN]
        for app in self.registry.apps.values():
            if app.bot_login == login:
                return app
        raise NotFound

    async def app(self, request: web.Request) -> web.Response:
        """``GET /app``: the App the JWT was signed for."""
        return json_reply(self.emulator.app_json(self._caller(request)))

    async def installations(self, request: web.Request) -> web.Response:
        """``GET /app/installations``: the App's installations."""
        app = self._caller(request)
        rows = [self.emulator.installation_json(i) for i in self.registry.installations.values() if i.app_id == app.id]
        page, link = paginate(self.emulator.url, request, rows)
        return json_reply(page, link=link)

    async def installation(self, request: web.Request) -> web.Response:
        """``GET /app/installations/{id}``."""
        app = self._caller(request)
        installation = self.registry.installations.get(int(request.match_info["installation_id"]))
        if installation is None or installation.app_id != app.id:
            raise NotFound
        return json_reply(self.emulator.installation_json(installation))

    async def access_token(self, request: web.Request) -> web.Response:
        """``POST /app/installations/{id}/access_tokens``: a token valid one hour (403 when suspended)."""
        app = self._caller(request)
        raw = request.match_info["installation_id"]
        if not raw.isdigit():
            raise NotFound
        try:
            token, record = self.registry.issue_token(app, int(raw), time.time())
        except AppRefused as refused:
            if refused.status == 404:
                raise NotFound from None
            return error_reply(refused.status, refused.message)
        installation = self.registry.installations[record.installation_id]
        body = {
            "token": token,
            "expires_at": iso_epoch(record.expires_at),
            "permissions": dict(app.permissions),
            "repository_selection": "selected",
            "repositories": [self.emulator.render.repo(r) for r in self.emulator._repos_of(installation)],
        }
        return json_reply(body, status=201)

    async def repo_installation(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/installation``: the App's installation covering the repository."""
        self._caller(request)
        repo = self.emulator.world.find_repo(f"{request.match_info['owner']}/{request.match_info['repo']}")
        installation = self.registry.installation_for(repo.id) if repo is not None else None
        if installation is None:
            raise NotFound
        return json_reply(self.emulator.installation_json(installation))

    async def installation_repositories(self, request: web.Request) -> web.Response:
        """``GET /installation/repositories`` with an installation token: what the installation may see."""
        token = request.headers.get("Authorization", "").partition(" ")[2]
        installation = self.registry.token_installation(token.strip(), time.time())
        if installation is None:
            return error_reply(403, "You must authenticate with an installation access token to access this endpoint.")
        repos = [self.emulator.render.full_repo(r) for r in self.emulator._repos_of(installation)]
        page, link = paginate(self.emulator.url, request, repos)
        return json_reply(
            {"total_count": len(repos), "repository_selection": "selected", "repositories": page}, link=link
        )

    async def conversion(self, request: web.Request) -> web.Response:
        """``POST /app-manifests/{code}/conversions``: the App made from a manifest (once per code)."""
        try:
            app = self.emulator.convert_manifest(request.match_info["code"])
        except KeyError:
            raise NotFound from None
        return json_reply(app, status=201)

    async def new_app(self, request: web.Request) -> web.Response:
        """``POST /settings/apps/new``: the owner presses "Create GitHub App"; GitHub redirects with a code."""
        form = await request.post()
        try:
            manifest = json.loads(str(form.get("manifest") or ""))
        except ValueError:
            return error_reply(422, "Invalid GitHub App configuration: the manifest is not JSON")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("redirect_url"), str):
            return error_reply(422, "Invalid GitHub App configuration: redirect_url is missing")
        try:
            code = self.emulator.start_manifest(manifest)
        except ValueError as exc:
            return error_reply(422, f"Invalid GitHub App configuration: {exc}")
        query = {"code": code}
        if request.query.get("state"):
            query["state"] = request.query["state"]
        return web.Response(status=302, headers={"Location": f"{manifest['redirect_url']}?{urlencode(query)}"})
