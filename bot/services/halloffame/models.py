"""What the hall of fame shows: contributors, the filters asked for, and one page of results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from bot.errors import UserFacingError

SORTS = ("count", "first", "newest", "name")
MAX_PER_PAGE = 100
SCHEMA = "vestry.hall-of-fame/1"


@dataclass(frozen=True)
class FirstPull:
    """A contributor's first merged pull request in the scope shown."""

    repo: str
    number: int
    title: str
    url: str
    merged_at: datetime | None


@dataclass(frozen=True)
class Contributor:
    """One person as the page shows them: public GitHub facts, and a Discord side only when they allow it."""

    github_id: int
    login: str
    avatar_url: str | None
    tier: str | None
    tier_rank: int
    first_at: datetime | None
    first_pr: FirstPull | None
    merged_prs: int
    reviews: int
    issues_closed: int
    merges: int
    total: int
    kudos: int
    kinds: dict[str, int] = field(default_factory=dict)
    discord_name: str | None = None
    discord_avatar: str | None = None


@dataclass(frozen=True)
class Filters:
    """Which contributors a page lists and in what order."""

    tier: str | None = None
    kind: str | None = None
    repo: str | None = None
    sort: str = "count"
    page: int = 1
    per_page: int = 48

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise UserFacingError(f"sort must be one of {', '.join(SORTS)}, not {self.sort[:40]!r}")
        if self.page < 1:
            raise UserFacingError(f"page must be 1 or more, not {self.page}")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise UserFacingError(f"per_page must be between 1 and {MAX_PER_PAGE}, not {self.per_page}")


@dataclass(frozen=True)
class Page:
    """One page of contributors and how many match in all."""

    contributors: list[Contributor]
    matched: int
    filters: Filters

    @property
    def pages(self) -> int:
        """How many pages the matching contributors fill."""
        return max(1, math.ceil(self.matched / self.filters.per_page))


@dataclass(frozen=True)
class PersonPage:
    """Everything one contributor's own page shows: all repositories, then each followed one."""

    everywhere: Contributor
    per_repo: dict[str, Contributor]
