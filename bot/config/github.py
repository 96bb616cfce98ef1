"""The [github] settings: the repositories Vestry follows and how it authenticates (a token or a GitHub App).

A GitHub App's private key never goes in ``config.toml``: the file names a key file (mode 0600), or the
environment carries it (``GITHUB_APP_PRIVATE_KEY`` with the PEM text, or ``GITHUB_APP_PRIVATE_KEY_FILE``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config.types import Duration, FilePath, HttpUrl, Repo

if TYPE_CHECKING:
    from bot.config.secrets import Secrets


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GitHubAppSettings(_Section):
    """Authenticate as a GitHub App instead of with GITHUB_TOKEN (`vestry init` creates one from a manifest)."""

    app_id: int = Field(ge=1, description="The GitHub App's id (its settings page, About → App ID).")
    private_key_file: FilePath | None = Field(
        None,
        description="Path of the App's private key (.pem, keep it mode 0600); GITHUB_APP_PRIVATE_KEY (the PEM text) "
        "or GITHUB_APP_PRIVATE_KEY_FILE in the environment take its place. Never put the key itself here.",
    )
    installation_id: int | None = Field(
        None,
        ge=1,
        description="The installation Vestry acts as (default: the one covering the first repository, or the "
        "App's only installation).",
    )


class GitHubSettings(_Section):
    """The repositories Vestry follows and how it reaches GitHub."""

    repositories: list[Repo] = Field(
        default_factory=list,
        description='Repositories to follow, as "owner/name". Required with a token; with a GitHub App, leave it '
        "out to follow every repository the App is installed on (when given, Vestry follows those the App can see).",
    )
    app: GitHubAppSettings | None = Field(
        None, description="Authenticate as this GitHub App (see [github.app]); GITHUB_TOKEN is then not used."
    )
    api_url: HttpUrl = Field(
        "https://api.github.com", description="GitHub REST API base URL (GitHub Enterprise: .../api/v3)."
    )
    oauth_url: HttpUrl = Field("https://github.com", description="Where the OAuth device-flow endpoints live.")
    oauth_client_id: str | None = Field(
        None, description="Client id of a GitHub OAuth App with device flow enabled; turns on /link by device flow."
    )
    ignored_accounts: list[str] = Field(
        default_factory=list, description="GitHub logins never celebrated, promoted or nudged about (bots always are)."
    )
    poll: bool = Field(False, description="Poll GitHub on a timer (for installs without a public webhook URL).")
    poll_interval: Duration = Field(timedelta(minutes=5), description="How often to poll when polling is on.")
    backfill_on_first_start: bool = Field(
        False, description="Import each repository's history on the first start instead of asking a maintainer."
    )

    @model_validator(mode="after")
    def _repositories_or_app(self) -> GitHubSettings:
        if not self.repositories and self.app is None:
            raise ValueError(
                "repositories: name at least one repository to follow, or configure [github.app] to follow the "
                "repositories a GitHub App is installed on"
            )
        return self


@dataclass(frozen=True)
class AppCredentials:
    """What Vestry needs to act as a GitHub App: its id, its private key (PEM) and, if pinned, the installation."""

    app_id: int
    private_key: str
    installation_id: int | None = None

    def __repr__(self) -> str:
        return f"AppCredentials(app_id={self.app_id}, installation_id={self.installation_id})"


class CredentialsError(Exception):
    """The App's credentials are unusable; the message names the key or variable and what is wrong."""


def app_credentials(settings: GitHubSettings, secrets: Secrets) -> AppCredentials | None:
    """Return the App's credentials when App mode is configured (file or environment), else None.

    Raises :class:`CredentialsError` when App mode is asked for but the id or the key is missing or unusable.
    """
    configured = settings.app
    env_id = secrets.github_app_id
    if configured is None and env_id is None:
        return None
    if configured is not None:
        app_id, where_id = configured.app_id, "github.app.app_id"
    else:
        if not str(env_id).strip().isdigit():
            raise CredentialsError(f"GITHUB_APP_ID: must be the App's numeric id, not {env_id!r}")
        app_id, where_id = int(str(env_id)), "GITHUB_APP_ID"
    key = _private_key(configured, secrets)
    if key is None:
        raise CredentialsError(
            f"{where_id} is set but no private key is: set github.app.private_key_file, GITHUB_APP_PRIVATE_KEY_FILE "
            "or GITHUB_APP_PRIVATE_KEY (download the key from the App's settings → Private keys)"
        )
    return AppCredentials(app_id, key, configured.installation_id if configured else None)


def _private_key(configured: GitHubAppSettings | None, secrets: Secrets) -> str | None:
    inline = secrets.github_app_private_key
    if inline is not None:
        return _checked(inline.get_secret_value().replace("\\n", "\n"), "GITHUB_APP_PRIVATE_KEY")
    if secrets.github_app_private_key_file:
        path, where = secrets.github_app_private_key_file, "GITHUB_APP_PRIVATE_KEY_FILE"
    elif configured is not None and configured.private_key_file:
        path, where = configured.private_key_file, "github.app.private_key_file"
    else:
        return None
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CredentialsError(f"{where}: {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"{where}: cannot read {file} ({type(exc).__name__})") from None
    if os.name == "posix" and file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        import logging

        logging.getLogger(__name__).warning("%s: %s can be read by other users; chmod 600 it", where, file)
    return _checked(text, f"{where} ({file})")


def _checked(pem: str, where: str) -> str:
    """Make sure ``pem`` is an RSA private key in PEM form (never echoing any of it)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialsError(f"{where}: not an unencrypted private key in PEM form") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(f"{where}: a GitHub App key is an RSA key; this is another kind")
    return pem.strip() + "\n"
