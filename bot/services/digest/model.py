"""What a digest says, as plain data: computed by ``stats``, turned into a post by ``render``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.services.digest.periods import Period


@dataclass(frozen=True)
class Who:
    """A person named in the digest: a GitHub account and, when linked, its Discord member."""

    github_id: int
    login: str
    discord_id: int | None = None


@dataclass(frozen=True)
class Ranked:
    """A person and how much they did."""

    who: Who
    count: int


@dataclass(frozen=True)
class Ref:
    """A pull request or issue to link to."""

    repo: str
    number: int
    title: str
    url: str


@dataclass(frozen=True)
class Promotion:
    """A member who reached a tier of the ladder."""

    discord_id: int
    tier: str


@dataclass(frozen=True)
class Waiting:
    """A pull request waiting for review, and since when."""

    ref: Ref
    since: datetime


@dataclass(frozen=True)
class Health:
    """How the review queue is doing (CHAOSS "time to first response")."""

    waiting: int = 0
    oldest: Waiting | None = None
    first_review: timedelta | None = None
    first_review_sample: int = 0
    newcomer_first_review: timedelta | None = None
    newcomer_sample: int = 0
    unanswered: int = 0


@dataclass(frozen=True)
class ChartSeries:
    """The last periods, oldest first: merged PRs, new contributors and the star count at each end."""

    ends: list[datetime]
    merged: list[int]
    newcomers: list[int]
    stars: list[int]


@dataclass(frozen=True)
class DigestData:
    """Everything one digest reports about one period."""

    period: Period
    now: datetime
    new_contributors: list[Who] = field(default_factory=list)
    merged: int = 0
    merged_before: int = 0
    top_mergers: list[Ranked] = field(default_factory=list)
    reviews: int = 0
    reviewed_prs: int = 0
    top_reviewers: list[Ranked] = field(default_factory=list)
    issues_closed: int = 0
    top_closers: list[Ranked] = field(default_factory=list)
    stars_gained: int = 0
    stars_total: int = 0
    promotions: list[Promotion] = field(default_factory=list)
    kudos: int = 0
    recognitions: int = 0
    health: Health = field(default_factory=Health)
    good_first_issues: list[Ref] = field(default_factory=list)
    chart: ChartSeries | None = None

    @property
    def in_progress(self) -> bool:
        """Tell whether the period has not ended yet (a preview of the digest to come)."""
        return self.period.end > self.now

    def activity(self, sections: Sequence[str]) -> bool:
        """Tell whether anything happened that the shown sections would report."""
        counts = {
            "new_contributors": len(self.new_contributors),
            "merges": self.merged,
            "reviewers": self.reviews,
            "issues": self.issues_closed,
            "stars": self.stars_gained,
            "promotions": len(self.promotions),
            "kudos": self.kudos + self.recognitions,
        }
        return any(counts.get(section, 0) for section in sections)
