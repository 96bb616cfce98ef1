"""The facts the ledger records: what GitHub said about a pull request, review, review request, issue or star.

``bot.github.facts`` builds them from GitHub's shapes; ``bot.ledger.store.Ledger`` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.counting import GHOST_ID, is_bot_account

Source = Literal["webhook", "poll", "backfill"]


@dataclass(frozen=True)
class Actor:
    """A GitHub account: the numeric id is the identity, the login is for display."""

    id: int
    login: str
    is_bot: bool = False
    avatar_url: str | None = None
    is_org: bool = False

    @property
    def is_ghost(self) -> bool:
        """Tell whether this is GitHub's placeholder for a deleted account."""
        return self.id == GHOST_ID

    @property
    def account_type(self) -> str:
        """Return ``Bot``, ``Organization`` or ``User`` (a login ending in ``[bot]`` is a bot)."""
        if self.is_bot or is_bot_account(self.login):
            return "Bot"
        return "Organization" if self.is_org else "User"


@dataclass(frozen=True)
class PullFact:
    """The state of a pull request as GitHub reported it."""

    repo: str
    number: int
    title: str
    url: str
    author: Actor | None
    state: Literal["open", "closed", "merged"]
    draft: bool = False
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: Actor | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ReviewFact:
    """A submitted (or dismissed) review."""

    id: int
    repo: str
    number: int
    reviewer: Actor | None
    state: str
    submitted_at: datetime


@dataclass(frozen=True)
class ReviewRequestFact:
    """A review requested from (or no longer requested from) a user or a team."""

    repo: str
    number: int
    kind: Literal["user", "team"]
    reviewer: str
    at: datetime
    removed: bool = False
    actor: Actor | None = None
    requester: Actor | None = None  # who asked (GitHub's sender), when known


@dataclass(frozen=True)
class IssueFact:
    """The state of an issue."""

    repo: str
    number: int
    title: str
    url: str
    author: Actor | None
    state: Literal["open", "closed"]
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: Actor | None = None
    state_reason: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StarFact:
    """A star given (or taken back)."""

    repo: str
    user: Actor
    starred_at: datetime | None
    removed: bool = False


Fact = PullFact | ReviewFact | ReviewRequestFact | IssueFact | StarFact


def actors_of(fact: Fact) -> tuple[Actor | None, ...]:
    """The accounts a fact names."""
    if isinstance(fact, PullFact):
        return (fact.author, fact.merged_by)
    if isinstance(fact, ReviewFact):
        return (fact.reviewer,)
    if isinstance(fact, ReviewRequestFact):
        return (fact.actor,)
    if isinstance(fact, IssueFact):
        return (fact.author, fact.closed_by)
    return (fact.user,)
