"""GitHub for ``vestry init``: create a GitHub App from a manifest (one click), or check a token.

The manifest flow: a tiny local web server serves a page whose form posts the manifest to GitHub; the owner
presses "Create GitHub App"; GitHub redirects to the local ``/callback`` with a one-time code, which is
exchanged (``POST /app-manifests/{code}/conversions``) for the App's id, private key and webhook secret.
"""

from __future__ import annotations

import html
import json
import queue
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

GITHUB_WEB = "https://github.com"
GITHUB_API = "https://api.github.com"
EVENTS = ["pull_request", "pull_request_review", "issues", "star", "member", "repository"]


class GitHubSetupError(Exception):
    """GitHub refused or could not be reached; the message says what to do."""


@dataclass(frozen=True)
class CreatedApp:
    """What the manifest conversion returns that Vestry keeps."""

    id: int
    slug: str
    html_url: str
    private_key: str
    webhook_secret: str | None


def build_manifest(name: str, webhook_url: str | None, redirect_url: str, *, invitations: bool) -> dict[str, Any]:
    """Return a manifest asking only for what Vestry uses (issues/pull requests write only for invitations)."""
    access = "write" if invitations else "read"
    manifest: dict[str, Any] = {
        "name": name,
        "url": "https://github.com/apps",
        "redirect_url": redirect_url,
        "public": False,
        "default_permissions": {"metadata": "read", "pull_requests": access, "issues": access},
        "default_events": list(EVENTS),
    }
    if webhook_url:
        manifest["hook_attributes"] = {"url": webhook_url, "active": True}
    return manifest


def _page(action: str, manifest: dict[str, Any]) -> bytes:
    body = f"""<!doctype html><html><head><meta charset="utf-8"><title>Create the Vestry GitHub App</title></head>
<body><h1>Create the Vestry GitHub App</h1>
<p>GitHub will ask you to confirm the App's name and permissions.</p>
<form id="manifest" method="post" action="{html.escape(action)}">
<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">
<button type="submit">Create the GitHub App on GitHub</button></form>
<script>document.getElementById("manifest").submit()</script></body></html>"""
    return body.encode()


class ManifestFlow:
    """Serve the local page and callback, and wait for GitHub's code."""

    def __init__(
        self,
        *,
        name: str,
        webhook_url: str | None,
        invitations: bool,
        github_web: str = GITHUB_WEB,
        github_api: str = GITHUB_API,
        organization: str | None = None,
        port: int = 0,
    ) -> None:
        self.state = secrets.token_urlsafe(16)
        self.github_api = github_api.rstrip("/")
        self._codes: queue.Queue[str] = queue.Queue()
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                flow.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: the terminal belongs to the prompts."""

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        web = github_web.rstrip("/")
        where = f"{web}/organizations/{organization}/settings/apps/new" if organization else f"{web}/settings/apps/new"
        self.action = f"{where}?state={self.state}"
        self.manifest = build_manifest(name, webhook_url, self.url + "callback", invitations=invitations)
        self._thread = threading.Thread(target=self._server.serve_forever, name="vestry-init-callback", daemon=True)
        self._thread.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Answer the page, or take the code GitHub redirected back with."""
        parsed = urlparse(request.path)
        if parsed.path == "/":
            self._reply(request, 200, _page(self.action, self.manifest))
            return
        if parsed.path != "/callback":
            self._reply(request, 404, b"not found")
            return
        query = parse_qs(parsed.query)
        code, state = (query.get("code") or [""])[0], (query.get("state") or [""])[0]
        if not code or not secrets.compare_digest(state, self.state):
            self._reply(request, 400, b"This link does not belong to this vestry init run.")
            return
        self._codes.put(code)
        self._reply(request, 200, b"The GitHub App is created. Return to the terminal.")

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def wait(self, timeout: float = 600) -> CreatedApp:
        """Wait for GitHub's code, exchange it for the App, and stop serving."""
        try:
            code = self._codes.get(timeout=timeout)
        except queue.Empty:
            raise GitHubSetupError(f"no answer from GitHub within {timeout:.0f} s; run vestry init again") from None
        finally:
            self.close()
        return convert(self.github_api, code)

    def close(self) -> None:
        """Stop the local server."""
        self._server.shutdown()
        self._server.server_close()


def convert(github_api: str, code: str) -> CreatedApp:
    """Exchange a manifest code for the App (``POST /app-manifests/{code}/conversions``)."""
    url = f"{github_api.rstrip('/')}/app-manifests/{code}/conversions"
    try:
        response = requests.post(url, headers={"Accept": "application/vnd.github+json"}, timeout=30)
    except requests.RequestException as exc:
        raise GitHubSetupError(f"cannot reach GitHub at {github_api} ({type(exc).__name__})") from None
    if response.status_code != 201:
        raise GitHubSetupError(
            f"GitHub answered {response.status_code} to the App conversion (the code lasts one hour and works "
            "once); run vestry init again"
        )
    data = response.json()
    return CreatedApp(
        int(data["id"]),
        str(data["slug"]),
        str(data.get("html_url") or ""),
        str(data["pem"]),
        data.get("webhook_secret"),
    )


def check_token(github_api: str, token: str, repositories: list[str]) -> str:
    """Return the token's login after checking it can read every repository; raise GitHubSetupError if not."""
    session = requests.Session()
    session.headers.update({"Authorization": f"token {token}", "Accept": "application/vnd.github+json"})
    base = github_api.rstrip("/")
    try:
        user = session.get(f"{base}/user", timeout=15)
        if user.status_code == 401:
            raise GitHubSetupError("GitHub refused the token (401 Bad credentials): create a new one")
        for repo in repositories:
            answer = session.get(f"{base}/repos/{repo}", timeout=15)
            if answer.status_code != 200:
                raise GitHubSetupError(f"{repo}: GitHub answered {answer.status_code}; check the name and the token")
    except requests.RequestException as exc:
        raise GitHubSetupError(f"cannot reach GitHub at {github_api} ({type(exc).__name__})") from None
    finally:
        session.close()
    return str(user.json().get("login") or "")


def installed_repositories(github_api: str, app_id: int, private_key: str) -> list[str]:
    """Return the repositories the App is installed on, as the App sees them (JWT → installation tokens)."""
    import time

    import jwt

    now = int(time.time())
    signed = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(app_id)}, private_key, algorithm="RS256")
    base = github_api.rstrip("/")
    session = requests.Session()
    session.headers["Accept"] = "application/vnd.github+json"
    names: list[str] = []
    try:
        app_headers = {"Authorization": f"Bearer {signed}"}
        listing = session.get(f"{base}/app/installations", headers=app_headers, timeout=15)
        if listing.status_code != 200:
            raise GitHubSetupError(f"GitHub answered {listing.status_code} listing the App's installations")
        for installation in listing.json():
            url = f"{base}/app/installations/{int(installation['id'])}/access_tokens"
            token = session.post(url, headers=app_headers, timeout=15)
            if token.status_code != 201:
                continue  # a suspended installation: nothing it can see
            headers = {"Authorization": f"token {token.json()['token']}"}
            seen = session.get(f"{base}/installation/repositories", headers=headers, timeout=15)
            names += [str(r["full_name"]) for r in seen.json().get("repositories", [])] if seen.ok else []
    except requests.RequestException as exc:
        raise GitHubSetupError(f"cannot reach GitHub at {github_api} ({type(exc).__name__})") from None
    finally:
        session.close()
    return names
