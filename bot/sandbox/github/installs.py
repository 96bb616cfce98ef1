"""The emulator's GitHub Apps: create one (directly or from a manifest), install, uninstall and suspend it.

Each change sends the ``installation`` / ``installation_repositories`` webhooks GitHub sends to the App.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from bot.sandbox.github.apps import DEFAULT_EVENTS, DEFAULT_PERMISSIONS, GitHubApp, Installation, new_key_pair
from bot.sandbox.github.base import EmulatorBase
from bot.sandbox.github.render import JSON, iso
from bot.sandbox.github.state import Repo
from bot.sandbox.github.webhooks import Hook


class Installations(EmulatorBase):
    """GitHub Apps and their installations."""

    # the App ---------------------------------------------------------------------------------------------------
    def create_app(
        self,
        name: str = "Vestry",
        owner: str = "maintainer",
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
    ) -> GitHubApp:
        """Register a GitHub App with a fresh RSA key pair; it becomes the App ``/github/app/install`` installs."""
        registry = self.world.apps
        slug = "-".join(name.lower().split()) or "app"
        if any(app.slug == slug for app in registry.apps.values()):
            slug = f"{slug}-{len(registry.apps) + 1}"
        private, public = new_key_pair()
        app = GitHubApp(
            id=self.world.next_id("app"),
            slug=slug,
            name=name,
            owner=self._login(owner),
            private_key=private,
            public_key=public,
            client_id="Iv1." + secrets.token_hex(8),
            client_secret=secrets.token_hex(20),
            webhook_secret=webhook_secret,
            webhook_url=webhook_url,
            created_at=self._now(),
            permissions=dict(permissions or DEFAULT_PERMISSIONS),
            events=list(events or DEFAULT_EVENTS),
        )
        registry.apps[app.id] = app
        registry.current = app.id
        self.world.ensure_user(app.bot_login, "Bot", self._now())
        return app

    def app_json(self, app: GitHubApp, *, conversion: bool = False) -> JSON:
        """Return ``GET /app`` (with the key, secrets and PEM for a manifest conversion)."""
        data: JSON = {
            "id": app.id,
            "slug": app.slug,
            "node_id": f"A_{app.id}",
            "owner": self.render.user(app.owner),
            "name": app.name,
            "description": "",
            "external_url": self.url,
            "html_url": f"{self.url}/apps/{app.slug}",
            "created_at": iso(app.created_at),
            "updated_at": iso(app.created_at),
            "permissions": dict(app.permissions),
            "events": list(app.events),
            "installations_count": sum(1 for i in self.world.apps.installations.values() if i.app_id == app.id),
        }
        if conversion:
            data.update(
                client_id=app.client_id,
                client_secret=app.client_secret,
                webhook_secret=app.webhook_secret,
                pem=app.private_key,
            )
        return data

    def installation_json(self, installation: Installation) -> JSON:
        """Return an installation object as the REST API and webhooks show it."""
        app = self.world.apps.apps[installation.app_id]
        account = self.world.find_user(installation.account)
        api = f"{self.url}/app/installations/{installation.id}"
        return {
            "id": installation.id,
            "account": self.render.user(account.login),
            "repository_selection": "selected",
            "access_tokens_url": f"{api}/access_tokens",
            "repositories_url": f"{self.url}/installation/repositories",
            "html_url": f"{self.url}/organizations/{account.login}/settings/installations/{installation.id}",
            "app_id": app.id,
            "app_slug": app.slug,
            "target_id": account.id,
            "target_type": "Organization" if account.type == "Organization" else "User",
            "permissions": dict(app.permissions),
            "events": list(app.events),
            "created_at": iso(installation.created_at),
            "updated_at": iso(installation.created_at),
            "single_file_name": None,
            "suspended_by": None,
            "suspended_at": iso(installation.suspended_at) if installation.suspended_at else None,
        }

    @staticmethod
    def _short_repo(repo: Repo) -> JSON:
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
        }

    # installing ------------------------------------------------------------------------------------------------
    def _the_app(self) -> GitHubApp:
        app = self.world.apps.app
        if app is None:
            raise ValueError("no GitHub App exists: start the sandbox with --github-app")
        return app

    async def install_app(self, repos: list[str], deliver: bool = True) -> dict[str, Any]:
        """Install the App on ``repos``: ``installation created`` for a new account, else ``repositories added``."""
        app = self._the_app()
        targets = [self.world.repo(name) for name in repos]
        if not targets:
            raise ValueError("repos must name at least one repository")
        hooks: list[Hook] = []
        installed: set[int] = set()
        for owner in dict.fromkeys(repo.owner for repo in targets):
            mine = [repo for repo in targets if repo.owner == owner]
            installation = self.world.apps.installation_of(owner)
            if installation is None:
                installation = Installation(
                    id=self.world.next_id("installation"),
                    app_id=app.id,
                    account=owner,
                    repo_ids=[repo.id for repo in mine],
                    created_at=self._now(),
                )
                self.world.apps.installations[installation.id] = installation
                body: JSON = {"action": "created", "installation": self.installation_json(installation)}
                body["repositories"] = [self._short_repo(repo) for repo in mine]
                body.update(requester=None, sender=self.render.user(app.owner))
                hooks.append(Hook("installation", body, None, app.id))
            else:
                added = [repo for repo in mine if repo.id not in installation.repo_ids]
                installation.repo_ids += [repo.id for repo in added]
                if added:
                    hooks.append(self._repositories_hook(app, installation, added, []))
            installed.add(installation.id)
        return await self._send_app(hooks, deliver, installations=sorted(installed))

    async def uninstall_app(self, repos: list[str] | None = None, deliver: bool = True) -> dict[str, Any]:
        """Remove ``repos`` from the installations (``repositories removed``), or with none delete every one."""
        app = self._the_app()
        registry = self.world.apps
        hooks: list[Hook] = []
        if not repos:
            for installation in [i for i in registry.installations.values() if i.app_id == app.id]:
                body: JSON = {"action": "deleted", "installation": self.installation_json(installation)}
                body["repositories"] = [self._short_repo(r) for r in self._repos_of(installation)]
                body.update(requester=None, sender=self.render.user(app.owner))
                hooks.append(Hook("installation", body, None, app.id))
                del registry.installations[installation.id]
                for token, record in list(registry.tokens.items()):
                    if record.installation_id == installation.id:
                        del registry.tokens[token]
            return await self._send_app(hooks, deliver)
        for name in repos:
            repo = self.world.repo(name)
            installation = registry.installation_for(repo.id)
            if installation is None:
                raise ValueError(f"the App is not installed on {repo.full_name}")
            installation.repo_ids.remove(repo.id)
            hooks.append(self._repositories_hook(app, installation, [], [repo]))
        return await self._send_app(hooks, deliver)

    async def suspend_app(self, suspended: bool = True, deliver: bool = True) -> dict[str, Any]:
        """Suspend (or unsuspend) every installation of the App; a suspended one gets no tokens."""
        app = self._the_app()
        hooks: list[Hook] = []
        for installation in [i for i in self.world.apps.installations.values() if i.app_id == app.id]:
            installation.suspended_at = self._now() if suspended else None
            body: JSON = {"action": "suspend" if suspended else "unsuspend"}
            body.update(installation=self.installation_json(installation), sender=self.render.user(app.owner))
            hooks.append(Hook("installation", body, None, app.id))
        return await self._send_app(hooks, deliver)

    def expire_app_tokens(self) -> dict[str, Any]:
        """Make every installation token expired, as if its hour had passed."""
        return {"expired": self.world.apps.expire_tokens(), "delivery": None}

    def _repos_of(self, installation: Installation) -> list[Repo]:
        found = (self.world.repo_by_id(repo_id) for repo_id in installation.repo_ids)
        return [repo for repo in found if repo is not None]

    def _repositories_hook(
        self, app: GitHubApp, installation: Installation, added: list[Repo], removed: list[Repo]
    ) -> Hook:
        body: JSON = {
            "action": "added" if added else "removed",
            "installation": self.installation_json(installation),
            "repository_selection": "selected",
            "repositories_added": [self._short_repo(repo) for repo in added],
            "repositories_removed": [self._short_repo(repo) for repo in removed],
            "requester": None,
            "sender": self.render.user(app.owner),
        }
        return Hook("installation_repositories", body, None, app.id)

    async def _send_app(self, hooks: list[Hook], deliver: bool, **extra: Any) -> dict[str, Any]:
        return await self._send(hooks if self._sending(deliver) else [], **extra)

    # the manifest flow -----------------------------------------------------------------------------------------
    def start_manifest(self, manifest: dict[str, Any], owner: str = "maintainer") -> str:
        """Keep a manifest as if its owner pressed "Create GitHub App"; return the one-time code for conversion."""
        if not isinstance(manifest.get("url"), str) or not manifest.get("url"):
            raise ValueError("the manifest needs a url")
        code = secrets.token_hex(10)
        self.world.apps.codes[code] = {"manifest": dict(manifest), "owner": owner, "at": time.time()}
        return code

    def convert_manifest(self, code: str) -> JSON:
        """Exchange a manifest code (once, within an hour) for the new App, its key and webhook secret."""
        pending = self.world.apps.codes.pop(code, None)
        if pending is None or time.time() - float(pending["at"]) > 3600:
            raise KeyError(code)
        manifest = pending["manifest"]
        hook = manifest.get("hook_attributes") if isinstance(manifest.get("hook_attributes"), dict) else {}
        permissions = manifest.get("default_permissions")
        events = manifest.get("default_events")
        app = self.create_app(
            str(manifest.get("name") or "Vestry"),
            str(pending["owner"]),
            webhook_url=str(hook.get("url")) if hook.get("url") else None,
            webhook_secret=secrets.token_hex(20),
            permissions={str(k): str(v) for k, v in permissions.items()} if isinstance(permissions, dict) else None,
            events=[str(e) for e in events] if isinstance(events, list) else None,
        )
        return self.app_json(app, conversion=True)
