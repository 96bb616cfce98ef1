"""What linking works with: links, flows in progress, the GitHub capabilities it needs, and pure decisions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.errors import UserFacingError
from bot.github.device_flow import DeviceCode, TokenResult
from bot.github.types import GitHubUser
from bot.i18n import N_
from bot.timeutil import parse_iso

# Alphanumerics and single hyphens, not starting or ending with a hyphen, at most 39 characters.
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
SLOW_DOWN_STEP = 5.0


class GitHubDirectory(Protocol):
    """Public GitHub profile data the proof flow and maintainers' links read (``GitHubWorker``)."""

    async def get_user(self, login: str) -> GitHubUser | None: ...
    async def get_user_gists_text(self, login: str, limit: int = 10) -> list[str]: ...


class DeviceAuthorizer(Protocol):
    """GitHub's OAuth device flow (``bot.github.device_flow.DeviceFlow``)."""

    async def request_code(self, client_id: str, scope: str = "") -> DeviceCode: ...
    async def poll_token(self, client_id: str, device_code: str) -> TokenResult: ...
    async def fetch_user(self, api_url: str, token: str) -> GitHubUser: ...


class LinkFailed(UserFacingError):
    """A link flow ended without a link; the member may start again."""


@dataclass(frozen=True)
class Link:
    """A Discord member and the GitHub account they proved is theirs."""

    guild_id: int
    discord_id: int
    github_id: int
    login: str
    method: str
    linked_at: datetime


@dataclass(frozen=True)
class LinkResult:
    """What a link changed: the new link, the member's replaced one, the member it was moved from."""

    link: Link
    replaced: Link | None = None
    moved_from: Link | None = None
    unchanged: bool = False


@dataclass(frozen=True)
class DeviceSession:
    """A running device flow: what the member sees and what the bot polls with."""

    guild_id: int
    discord_id: int
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    expires_at: datetime
    interval: float
    expected_github_id: int | None = None
    expected_login: str | None = None


@dataclass(frozen=True)
class ProofRequest:
    """A one-time phrase the member puts in a public gist or their bio to prove they own ``login``."""

    login: str
    github_id: int | None
    phrase: str
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One maintainer action on links."""

    actor_id: int
    action: str
    target_id: int | None
    github_id: int | None
    detail: str
    at: datetime


def check_login(text: str) -> str:
    """Return a GitHub login from what the member typed, or raise a message saying how to fix it."""
    login = text.strip().removeprefix("@")
    if not LOGIN.fullmatch(login):
        raise UserFacingError(
            N_(
                "`{login}` isn't a valid GitHub login: logins use letters, digits and single hyphens, "
                "don't start or end with a hyphen and have at most 39 characters. Copy it from your GitHub profile "
                "and try again."
            ),
            login=login[:60],
        )
    return login


EXPIRED = N_("The code expired before it was approved on GitHub. Press **Try again** for a new code.")
DENIED = N_("The sign-in was cancelled on GitHub, so nothing was linked. Press **Try again** to start over.")


def after_poll(result: TokenResult, interval: float) -> float:
    """Return the wait before the next poll, or raise LinkFailed when GitHub ended the flow."""
    if result.status == "pending":
        return interval
    if result.status == "slow_down":
        # RFC 8628: add 5 s to the interval for this and every later poll (GitHub also sends the new value).
        return max(interval + SLOW_DOWN_STEP, float(result.interval or 0))
    if result.status == "expired":
        raise LinkFailed(EXPIRED)
    if result.status == "denied":
        raise LinkFailed(DENIED)
    raise LinkFailed(
        N_("GitHub ended the sign-in ({error}). Press **Try again** to retry."), error=result.error or "unknown error"
    )


TAKEN = N_(
    "@{login} is already linked to another member, so it can't be linked to you. If it really is yours, "
    "ask a maintainer: they can move it with `/vestry link`."
)


def link_from_row(row: Any) -> Link:
    """Read a ``links`` row."""
    linked_at = parse_iso(row["linked_at"])
    assert linked_at is not None
    return Link(
        int(row["guild_id"]), int(row["discord_id"]), int(row["github_id"]), row["login"], row["method"], linked_at
    )
