"""The GitHub emulator's Apps: JWT checks, installation tokens and their expiry, installs, the manifest flow."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jwt
import pytest
from github import Auth, Github, GithubIntegration

from bot.clock import ManualClock
from bot.sandbox.github_emulator import GitHubEmulator

REPO = "acme/widgets"


@pytest.fixture
async def emu() -> AsyncIterator[GitHubEmulator]:
    github = GitHubEmulator(clock=ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)))
    await github.start()
    await github.create_repo(REPO)
    github.create_app("Vestry Test")
    yield github
    await github.stop()


async def call(emu: GitHubEmulator, method: str, path: str, auth: str | None, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": auth} if auth else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emu.url + path, headers=headers, allow_redirects=False, **kwargs) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


def app_jwt(emu: GitHubEmulator, *, iat: float | None = None, exp: float | None = None, key: str | None = None) -> str:
    app = emu.world.apps.app
    assert app is not None
    now = int(time.time())
    claims = {"iat": int(iat if iat is not None else now - 60), "exp": int(exp if exp is not None else now + 300)}
    claims["iss"] = str(app.id)
    return jwt.encode(claims, key or app.private_key, algorithm="RS256")


async def test_pygithub_gets_an_installation_token_and_reads_the_repository_with_it(emu: GitHubEmulator) -> None:
    await emu.install_app([REPO])
    app = emu.world.apps.app
    assert app is not None

    def read() -> str:  # PyGithub blocks: run it off the emulator's event loop
        auth = Auth.AppAuth(app.id, app.private_key)
        installation = GithubIntegration(auth=auth, base_url=emu.url).get_repo_installation("acme", "widgets")
        gh = Github(base_url=emu.url, auth=auth.get_installation_auth(installation.id))
        return gh.get_repo(REPO).full_name

    assert await asyncio.to_thread(read) == REPO
    assert emu.gate.rejections.list() == []


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": time.time() - 10}, "'Expiration time' claim ('exp') must be a numeric value"),
        ({"exp": time.time() + 3600}, "'Expiration time' claim ('exp') is too far in the future"),
        ({"iat": time.time() + 600, "exp": time.time() + 700}, "'Issued at' claim ('iat') must be an Integer"),
    ],
)
async def test_a_jwt_out_of_its_time_window_is_refused_401_and_recorded(
    emu: GitHubEmulator, claims: dict[str, float], message: str
) -> None:
    status, body = await call(emu, "GET", "/app", f"Bearer {app_jwt(emu, **claims)}")
    assert status == 401 and body["message"].startswith(message)
    (refused,) = emu.gate.rejections.list()
    assert (refused["status"], refused["route"]) == (401, "/app")


async def test_a_jwt_signed_with_another_key_is_refused(emu: GitHubEmulator) -> None:
    other = emu.create_app("Other").private_key
    emu.world.apps.current = min(emu.world.apps.apps)
    status, body = await call(emu, "GET", "/app", f"Bearer {app_jwt(emu, key=other)}")
    assert status == 401 and body["message"] == "A JSON web token could not be decoded"


async def test_an_expired_installation_token_answers_bad_credentials(emu: GitHubEmulator) -> None:
    (installation_id,) = (await emu.install_app([REPO]))["installations"]
    status, token = await call(
        emu, "POST", f"/app/installations/{installation_id}/access_tokens", f"Bearer {app_jwt(emu)}"
    )
    assert status == 201 and token["expires_at"].endswith("Z")
    assert (await call(emu, "GET", f"/repos/{REPO}", f"token {token['token']}"))[0] == 200
    status, listing = await call(emu, "GET", "/installation/repositories", f"token {token['token']}")
    assert status == 200 and [r["full_name"] for r in listing["repositories"]] == [REPO]
    emu.expire_app_tokens()
    status, body = await call(emu, "GET", f"/repos/{REPO}", f"token {token['token']}")
    assert (status, body["message"]) == (401, "Bad credentials")


async def test_a_suspended_installation_gets_no_token(emu: GitHubEmulator) -> None:
    (installation_id,) = (await emu.install_app([REPO]))["installations"]
    await emu.suspend_app(True)
    status, body = await call(
        emu, "POST", f"/app/installations/{installation_id}/access_tokens", f"Bearer {app_jwt(emu)}"
    )
    assert (status, body["message"]) == (403, "This installation has been suspended")


async def test_install_and_uninstall_send_installation_webhooks_and_app_mode_adds_installation(
    emu: GitHubEmulator,
) -> None:
    seen: list[dict[str, Any]] = []
    emu.set_webhook("http://127.0.0.1:9/unreachable", "s")
    emu.world.apps.app_mode = True
    await emu.create_repo("acme/gadgets")
    await emu.install_app([REPO])
    await emu.install_app(["acme/gadgets"])
    await emu.open_pull(REPO, "olive", "Fix")
    await emu.uninstall_app(["acme/gadgets"])
    await emu.open_pull("acme/gadgets", "olive", "Not heard")
    await emu.uninstall_app()
    seen = [(d["event"], d["action"]) for d in emu.deliveries if d["event"] != "ping"]
    assert seen == [
        ("installation", "created"),
        ("installation_repositories", "added"),
        ("pull_request", "opened"),
        ("installation_repositories", "removed"),
        ("installation", "deleted"),
    ]
    opened = next(d for d in emu.deliveries if d["event"] == "pull_request")
    assert opened["payload"]["installation"]["id"] == emu.deliveries[1]["payload"]["installation"]["id"]


async def test_the_manifest_flow_creates_an_app_once_per_code(emu: GitHubEmulator) -> None:
    manifest = {
        "name": "Community bot",
        "url": "https://example.org",
        "redirect_url": "http://127.0.0.1:1/callback",
        "hook_attributes": {"url": "https://example.org/github/webhook"},
        "default_permissions": {"pull_requests": "read", "issues": "read", "metadata": "read"},
        "default_events": ["pull_request"],
    }
    status, _ = await call(emu, "POST", "/settings/apps/new?state=abc", None, data={"manifest": json.dumps(manifest)})
    assert status == 302
    (code,) = emu.world.apps.codes
    status, app = await call(emu, "POST", f"/app-manifests/{code}/conversions", None)
    assert status == 201 and app["pem"].startswith("-----BEGIN RSA PRIVATE KEY-----") and app["webhook_secret"]
    assert app["permissions"] == manifest["default_permissions"] and app["slug"] == "community-bot"
    assert (await call(emu, "POST", f"/app-manifests/{code}/conversions", None))[0] == 404
