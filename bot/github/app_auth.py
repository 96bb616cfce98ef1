"""GitHub App authentication for the worker: a JWT (RS256) for the App, an installation token for everything else.

PyGithub's ``AppInstallationAuth`` fetches the installation token and renews it 20 seconds before its hour is
up; this wrapper finds the installation lazily (so a refused JWT or a suspended installation is a typed error on
the first call, never a crash at start-up) and can drop its token when GitHub refuses it early.
"""

from __future__ import annotations

import logging
from typing import Any

from github import Auth, GithubIntegration
from github.Requester import Requester

from bot.github.types import GitHubError

log = logging.getLogger(__name__)


class NotInstalled(GitHubError):
    """The GitHub App has no installation Vestry can act as."""


class InstallationAuth(Auth.Auth, Auth.WithRequester["InstallationAuth"]):
    """Authenticate as one installation of a GitHub App, found on first use."""

    def __init__(self, app_id: int, private_key: str, *, installation_id: int | None, repository: str | None) -> None:
        Auth.WithRequester.__init__(self)
        self.app_auth = Auth.AppAuth(app_id, private_key)
        self.installation_id = installation_id
        self._repository = repository
        self._inner: Auth.AppInstallationAuth | None = None

    def withRequester(self, requester: Requester) -> InstallationAuth:
        """Keep PyGithub's requester (its base URL, timeouts and retries serve the App's own calls too)."""
        super().withRequester(requester)
        return self

    def integration(self) -> GithubIntegration:
        """Return a client that acts as the App itself (JWT), on the same base URL and settings."""
        kwargs: dict[str, Any] = dict(self.requester.kwargs)
        kwargs["auth"] = self.app_auth
        return GithubIntegration(**kwargs)

    def reset(self) -> None:
        """Forget the installation token (GitHub refused it): the next request fetches a new one."""
        self._inner = None

    @property
    def token_type(self) -> str:
        """Installation tokens go in ``Authorization: token ...``."""
        return "token"

    @property
    def token(self) -> str:
        """Return a live installation token, fetching or renewing it as needed."""
        if self._inner is None:
            if self.installation_id is None:
                self.installation_id = self._find_installation()
            inner = Auth.AppInstallationAuth(self.app_auth, self.installation_id)
            inner.withRequester(self.requester)
            self._inner = inner
        return self._inner.token

    def _find_installation(self) -> int:
        integration = self.integration()
        if self._repository:
            owner, _, name = self._repository.partition("/")
            try:
                return int(integration.get_repo_installation(owner, name).id)
            except Exception as exc:
                if getattr(exc, "status", None) != 404:
                    raise
        installations = list(integration.get_installations())
        if not installations:
            raise NotInstalled("the GitHub App is not installed on any repository yet: install it, then restart", 404)
        if len(installations) > 1:
            log.warning(
                "the GitHub App has %d installations; acting as %d (set github.app.installation_id to choose)",
                len(installations),
                installations[0].id,
            )
        return int(installations[0].id)

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"
