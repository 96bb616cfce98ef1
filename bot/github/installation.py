"""What a GitHub App installation lets Vestry follow, kept current by ``installation`` webhooks.

Without configured repositories Vestry follows every repository the installation covers; with them, those of
them the App can see (the others are named in ``/vestry status``). Installing the App on a repository follows
it at once, uninstalling stops following it, and a deleted or suspended installation is said plainly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.github.repos import Repositories
from bot.github.types import GitHubError, GitHubUnavailable
from bot.i18n import N_, Notice

log = logging.getLogger(__name__)


class AppFollowing:
    """The followed repositories of a GitHub App installation, and what status should say about them."""

    def __init__(self, configured: list[str], repos: Repositories) -> None:
        self.configured = list(configured)
        self.repos = repos
        self.visible: dict[str, int | None] | None = None  # lower-cased name → id; None until GitHub answered
        self.error: str | None = None
        self.unreachable = False  # the last look failed because GitHub did not answer (start-up retries it)
        self.uninstalled: list[str] = []
        self.suspended = False
        self.deleted = False
        self.installation_id: int | None = None
        self.auth: Any = None  # the worker's InstallationAuth, told when the installation changes
        self.changed: Callable[[], None] | None = None  # called after what is followed may have changed
        self._etag: str | None = None

    def _wanted(self, name: str) -> bool:
        return not self.configured or name.lower() in {repo.lower() for repo in self.configured}

    async def refresh(self, worker: Any) -> None:
        """Ask GitHub what the installation covers and follow that (never raising: a refusal goes in status)."""
        try:
            listed, self._etag = await installation_repositories(worker, self._etag)
        except GitHubError as exc:
            self.error = str(exc)
            self.unreachable = isinstance(exc, GitHubUnavailable)
            log.warning("cannot list the GitHub App installation's repositories: %s", exc)
            return
        self.error, self.unreachable = None, False
        if listed is None:
            return  # unchanged since the last look (304)
        before = self.visible
        self.visible = {str(r["full_name"]).lower(): r.get("id") for r in listed if isinstance(r, Mapping)}
        for repo in listed:
            if self._wanted(str(repo["full_name"])):
                self.repos.follow(str(repo["full_name"]), _int(repo.get("id")))
                self.uninstalled = [n for n in self.uninstalled if n.lower() != str(repo["full_name"]).lower()]
        for record in list(self.repos.records):
            if record.full_name.lower() not in self.visible and record.configured.lower() not in self.visible:
                self.repos.unfollow(record.full_name)
                if before is not None:  # it was installed at the last look: uninstalled since (seen by polling)
                    self.uninstalled.append(record.full_name)
        if before is None or set(before) != set(self.visible):
            log.info("following, as a GitHub App: %s", ", ".join(self.repos.names()) or "no repository yet")
        self._changed()

    def _changed(self) -> None:
        if self.changed is not None:
            self.changed()

    def on_webhook(self, event: str, payload: Mapping[str, Any]) -> None:
        """Follow what an ``installation`` or ``installation_repositories`` delivery says changed."""
        installation = payload.get("installation")
        action = str(payload.get("action") or "")
        mine = self.installation_id
        theirs = _int(installation.get("id")) if isinstance(installation, Mapping) else None
        if event == "installation" and action == "created" and (self.deleted or mine is None) and theirs:
            self.adopt(theirs)  # installed again after an uninstall: a new installation, with a new id
        elif mine is not None and theirs is not None and theirs != mine:
            return  # another installation of the same App (another account): not the one Vestry acts as
        if event == "installation" and action in ("created", "deleted"):
            self.deleted = action == "deleted"
            self._apply(payload.get("repositories"), added=action == "created")
        elif event == "installation" and action in ("suspend", "unsuspend"):
            self.suspended = action == "suspend"
            log.warning("the GitHub App installation was %sed", action)
        elif event == "installation_repositories":
            self._apply(payload.get("repositories_added"), added=True)
            self._apply(payload.get("repositories_removed"), added=False)
        self._changed()

    def adopt(self, installation_id: int) -> None:
        """Act as this installation from now on (its token is fetched on the next request)."""
        log.info("acting as the GitHub App installation %d", installation_id)
        self.installation_id = installation_id
        if self.auth is not None:
            self.auth.installation_id = installation_id
            self.auth.reset()

    def _apply(self, repositories: Any, *, added: bool) -> None:
        for repo in repositories if isinstance(repositories, list) else []:
            if not isinstance(repo, Mapping) or not isinstance(repo.get("full_name"), str):
                continue
            name, repo_id = str(repo["full_name"]), _int(repo.get("id"))
            if self.visible is None:
                self.visible = {}
            if added:
                self.visible[name.lower()] = repo_id
                self.uninstalled = [n for n in self.uninstalled if n.lower() != name.lower()]
                if self._wanted(name):
                    self.repos.follow(name, repo_id)
                    log.info("the GitHub App was installed on %s: following it", name)
            else:
                self.visible.pop(name.lower(), None)
                if self.repos.unfollow(name, repo_id) is not None:
                    self.uninstalled.append(name)
                    log.warning("the GitHub App was uninstalled from %s: no longer following it", name)

    def problems(self) -> list[str]:
        """Lines for ``/vestry status`` about the App's reach."""
        lines: list[str] = []
        if self.deleted:
            lines.append(
                Notice(N_("GitHub App: uninstalled; Vestry follows no repository until it is installed again"))
            )
        if self.suspended:
            lines.append(
                Notice(N_("GitHub App: the installation is suspended; GitHub refuses its requests until unsuspended"))
            )
        if self.error:
            lines.append(
                Notice(N_("GitHub App: cannot list the installation's repositories ({error})"), error=self.error[:150])
            )
        lines += [
            Notice(N_("{repo}: the GitHub App was uninstalled from it; no longer followed"), repo=name)
            for name in self.uninstalled
        ]
        if self.visible is not None:
            lines += [
                Notice(N_("{repo}: configured, but the GitHub App cannot see it; install the App on it"), repo=name)
                for name in self.configured
                if name.lower() not in self.visible and name not in self.uninstalled
            ]
        if not self.repos.records and not self.deleted:
            lines.append(Notice(N_("GitHub App: installed on no repository Vestry may follow")))
        return lines


async def installation_repositories(
    worker: Any, etag: str | None = None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """Return every repository the installation covers (``GET /installation/repositories``, all pages) and the
    first page's ETag; with ``etag``, None when nothing changed (a free 304)."""

    def fetch(gh: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
        found: list[dict[str, Any]] = []
        page = worker.request_sync(gh, "/installation/repositories", params={"per_page": 100}, etag=etag)
        if page.status == 304:
            return None, etag
        first = page.etag
        for _ in range(50):
            found += [r for r in (page.data or {}).get("repositories") or [] if isinstance(r, dict)]
            if page.next_url is None:
                break
            page = worker.request_sync(gh, page.next_url)
        return found, first

    listed, tag = await worker.call(fetch)
    return (None if listed is None else list(listed)), tag


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
