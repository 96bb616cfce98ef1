"""GitHub Apps in the emulator's world: the App and its key pair, installations, JWTs and installation tokens.

Times here are wall-clock epoch seconds, as on GitHub: a client signs its JWT with its own clock (PyGithub
uses ``time.time()``) and compares an installation token's ``expires_at`` with it, so the emulator does too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_LIFETIME = 3600
JWT_MAX_LIFETIME = 600
CLOCK_SKEW = 60
BAD_JWT = "A JSON web token could not be decoded"
EXPIRED_JWT = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the "
    "assertion expires"
)
FAR_JWT = "'Expiration time' claim ('exp') is too far in the future"
BAD_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
BAD_ISS = "'Issuer' claim ('iss') must be an Integer"
NO_APP = "Integration not found"
SUSPENDED = "This installation has been suspended"
DEFAULT_PERMISSIONS = {"metadata": "read", "pull_requests": "read", "issues": "read"}
DEFAULT_EVENTS = ["pull_request", "pull_request_review", "issues", "star", "member", "repository"]


class AppRefused(Exception):
    """GitHub refuses an App request: ``status`` and GitHub's ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class GitHubApp:
    """One registered GitHub App with its RSA key pair (PEM text, so that the world pickles)."""

    id: int
    slug: str
    name: str
    owner: str
    private_key: str
    public_key: str
    client_id: str
    client_secret: str
    webhook_secret: str | None
    webhook_url: str | None
    created_at: datetime
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(DEFAULT_EVENTS))

    @property
    def bot_login(self) -> str:
        """The login the App acts as with an installation token."""
        return f"{self.slug}[bot]"


@dataclass(slots=True)
class Installation:
    """The App installed on one account's repositories."""

    id: int
    app_id: int
    account: str
    repo_ids: list[int]
    created_at: datetime
    suspended_at: datetime | None = None


@dataclass(slots=True)
class AppToken:
    """An installation access token and when it stops working (epoch seconds)."""

    installation_id: int
    expires_at: float


def new_key_pair() -> tuple[str, str]:
    """Return a fresh 2048-bit RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class AppRegistry:
    """Every App, installation and installation token the emulated GitHub knows."""

    def __init__(self) -> None:
        self.apps: dict[int, GitHubApp] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, AppToken] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.current: int | None = None
        self.app_mode = False
        self.token_lifetime = TOKEN_LIFETIME  # seconds; tests shorten it to see clients renew in time

    @property
    def app(self) -> GitHubApp | None:
        """The App created last (the one ``/github/app/install`` installs)."""
        return self.apps.get(self.current) if self.current is not None else None

    def installation_for(self, repo_id: int) -> Installation | None:
        """Return the current App's installation that covers the repository, if any."""
        for installation in self.installations.values():
            if installation.app_id == self.current and repo_id in installation.repo_ids:
                return installation
        return None

    def installation_of(self, account: str) -> Installation | None:
        """Return the current App's installation on ``account`` (any case), if any."""
        for installation in self.installations.values():
            if installation.app_id == self.current and installation.account.lower() == account.lower():
                return installation
        return None

    # JWTs and tokens ------------------------------------------------------------------------------------------
    def verify_jwt(self, token: str, now: float) -> GitHubApp:
        """Return the App that signed ``token``; raise :class:`AppRefused` as GitHub answers a bad one."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AppRefused(401, BAD_JWT) from None
        issuer = claims.get("iss")
        if not str(issuer).isdigit():
            raise AppRefused(401, BAD_ISS)
        app = self.apps.get(int(str(issuer)))
        if app is None:
            raise AppRefused(404, NO_APP)
        try:
            jwt.decode(token, app.public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError:
            raise AppRefused(401, BAD_JWT) from None
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int) or issued > now + CLOCK_SKEW:
            raise AppRefused(401, BAD_IAT)
        if not isinstance(expires, int | float) or expires <= now:
            raise AppRefused(401, EXPIRED_JWT)
        if expires - max(issued, now - CLOCK_SKEW) > JWT_MAX_LIFETIME + CLOCK_SKEW:
            raise AppRefused(401, FAR_JWT)
        return app

    def issue_token(self, app: GitHubApp, installation_id: int, now: float) -> tuple[str, AppToken]:
        """Create an installation token valid one hour; 404 for another App's or an unknown installation."""
        installation = self.installations.get(installation_id)
        if installation is None or installation.app_id != app.id:
            raise AppRefused(404, "Not Found")
        if installation.suspended_at is not None:
            raise AppRefused(403, SUSPENDED)
        token = "ghs_" + secrets.token_urlsafe(27)
        record = AppToken(installation_id, now + self.token_lifetime)
        self.tokens[token] = record
        return token, record

    def token_installation(self, token: str, now: float) -> Installation | None:
        """Return the installation a live token belongs to (None when unknown, expired or suspended)."""
        record = self.tokens.get(token)
        if record is None or record.expires_at <= now:
            return None
        installation = self.installations.get(record.installation_id)
        if installation is None or installation.suspended_at is not None:
            return None
        return installation

    def expire_tokens(self) -> int:
        """Make every installation token expired at once (as if an hour had passed); return how many."""
        for record in self.tokens.values():
            record.expires_at = 0.0
        return len(self.tokens)


def iso_epoch(moment: float) -> str:
    """Return an epoch time as GitHub writes ``expires_at``."""
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
