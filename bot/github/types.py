"""Plain data the GitHub adapter hands out, and its typed errors (no PyGithub import here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.counting import is_bot_account
from bot.ledger import Actor, PullFact


class GitHubError(Exception):
    """GitHub answered with an error the caller should handle."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(GitHubError):
    """The user, repository or object does not exist (or the token cannot see it)."""


class GitHubUnavailable(GitHubError):
    """GitHub is down or unreachable: 5xx, timeout, connection error."""


class GraphQLFailed(GitHubError):
    """GitHub answered a GraphQL query with errors (HTTP 200); ``types`` names them (``NOT_FOUND``, ...)."""

    def __init__(self, errors: list[dict[str, Any]], data: dict[str, Any] | None = None) -> None:
        self.errors = errors
        self.data = data
        self.types = [str(e.get("type") or (e.get("extensions") or {}).get("code") or "ERROR") for e in errors]
        first = str(errors[0].get("message") or "") if errors else ""
        super().__init__(f"GitHub refused the GraphQL query ({', '.join(self.types)}): {first[:300]}", 200)


class RateLimited(GitHubError):
    """A primary or secondary rate limit: do not call again before ``reset_at``."""

    def __init__(self, reset_at: datetime, secondary: bool, resource: str = "core") -> None:
        kind = "secondary" if secondary else "primary"
        super().__init__(f"GitHub {kind} rate limit ({resource}) until {reset_at.isoformat()}", 429)
        self.reset_at = reset_at
        self.secondary = secondary
        self.resource = resource


@dataclass(frozen=True)
class GitHubUser:
    """A GitHub account with the profile fields linking needs."""

    id: int
    login: str
    is_bot: bool
    bio: str | None = None
    avatar_url: str | None = None
    name: str | None = None
    is_org: bool = False

    def actor(self) -> Actor:
        """Return the account as a ledger actor."""
        return Actor(self.id, self.login, self.is_bot, self.avatar_url, is_org=self.is_org)


@dataclass(frozen=True)
class JsonResponse:
    """One REST response: status, parsed body, ETag and the next page's URL."""

    status: int
    data: Any
    etag: str | None = None
    next_url: str | None = None

    @property
    def not_modified(self) -> bool:
        """Tell whether GitHub answered 304 Not Modified."""
        return self.status == 304


@dataclass(frozen=True)
class RateLimitInfo:
    """One rate-limit bucket (core, graphql, search) as last seen."""

    resource: str
    limit: int
    remaining: int
    reset_at: datetime | None


@dataclass(frozen=True)
class OpenPull:
    """An open pull request with who is asked to review it now."""

    pull: PullFact
    requested_users: tuple[Actor, ...] = ()
    requested_teams: tuple[str, ...] = ()


def user_from_json(data: Mapping[str, Any]) -> GitHubUser:
    """Read a REST user object into a :class:`GitHubUser`."""
    login = str(data["login"])
    return GitHubUser(
        id=int(data["id"]),
        login=login,
        is_bot=is_bot_account(login, data.get("type")),
        bio=data.get("bio"),
        avatar_url=data.get("avatar_url"),
        name=data.get("name"),
        is_org=data.get("type") == "Organization",
    )
