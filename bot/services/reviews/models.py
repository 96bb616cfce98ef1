"""What the review queue is made of: reviewers, pull requests and the requests that wait on them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

ReviewerKind = Literal["user", "team"]


def reviewer_key(kind: str, reviewer: str) -> str:
    """Name a reviewer the way snoozes and acknowledgements do: ``user:<github id>`` or ``team:<slug>``."""
    return f"{kind}:{reviewer}"


def button_key(key: str) -> str:
    """Return the short, stable form of a reviewer key for a button's custom_id (≤ 24 characters, any slug).

    A user's key (``user:<github id>``) is short already; a team's becomes ``t:`` and a hash of its slug, which
    the click is matched back against the teams waiting in the queue (:func:`matches_button`).
    """
    if key.startswith("user:") and len(key) <= 24:
        return key
    return "t:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def matches_button(key: str, short: str) -> bool:
    """Tell whether a reviewer key is the one a button's short key names (old buttons carried the key itself)."""
    return short in (key, button_key(key))


@dataclass(frozen=True)
class Reviewer:
    """Someone a review was requested from: a GitHub user (maybe linked to a member) or a team."""

    key: str
    kind: ReviewerKind
    name: str
    github_id: int | None = None
    discord_id: int | None = None
    role_id: int | None = None
    away_until: datetime | None = None
    dm: bool = False

    def away(self, at: datetime) -> bool:
        """Tell whether the reviewer is on leave at a moment."""
        return self.away_until is not None and self.away_until > at


@dataclass(frozen=True)
class PullSummary:
    """An open pull request as the queue shows it."""

    repo: str
    number: int
    title: str
    url: str
    author_login: str
    first_timer: bool
    approvals: int = 0
    changes_requested: int = 0


@dataclass(frozen=True)
class WaitingReview:
    """One pending review request: a pull request waiting on one reviewer."""

    pull: PullSummary
    reviewer: Reviewer
    requested_at: datetime
    waited: timedelta
    overdue: bool
    escalated: bool
    snoozed_until: datetime | None = None
    on_it_until: datetime | None = None

    def hidden_at(self, at: datetime) -> bool:
        """Tell whether a snooze or an "On it" keeps this row out of a nudge at ``at``."""
        return any(until is not None and until > at for until in (self.snoozed_until, self.on_it_until))

    def sort_key(self) -> tuple[bool, timedelta, datetime, str, int]:
        """First-time contributors first, then the longest wait."""
        return (not self.pull.first_timer, -self.waited, self.requested_at, self.pull.repo, self.pull.number)


@dataclass(frozen=True)
class ReviewerGroup:
    """A reviewer and their waiting requests, in queue order."""

    reviewer: Reviewer
    items: tuple[WaitingReview, ...]


@dataclass(frozen=True)
class QueueSnapshot:
    """The review queue at one moment, in order: first-time contributors first, then oldest first."""

    at: datetime
    items: tuple[WaitingReview, ...] = ()
    business_time: bool = False

    @property
    def count(self) -> int:
        """How many distinct pull requests wait for a review."""
        return len({(item.pull.repo, item.pull.number) for item in self.items})

    @property
    def oldest(self) -> WaitingReview | None:
        """The request that has waited longest."""
        return max(self.items, key=lambda item: (item.waited, -item.requested_at.timestamp()), default=None)

    def groups(self) -> list[ReviewerGroup]:
        """Group the rows by reviewer, the reviewer with the most urgent row first."""
        grouped: dict[str, list[WaitingReview]] = {}
        for item in self.items:
            grouped.setdefault(item.reviewer.key, []).append(item)
        return [ReviewerGroup(rows[0].reviewer, tuple(rows)) for rows in grouped.values()]

    def only(
        self, keep: set[str] | None = None, *, overdue: bool = False, visible_at: datetime | None = None
    ) -> QueueSnapshot:
        """Return the rows of some reviewers, or only overdue ones, or only those not hidden at a moment."""
        items = [
            item
            for item in self.items
            if (keep is None or item.reviewer.key in keep)
            and (not overdue or item.overdue)
            and (visible_at is None or not item.hidden_at(visible_at))
        ]
        return QueueSnapshot(self.at, tuple(items), self.business_time)


@dataclass
class NudgeResult:
    """What one nudge run did, for logs and tests."""

    slot: datetime | None
    outcome: Literal["posted", "already-posted", "nothing-waiting", "quiet", "quiet-day", "not-due", "disabled"]
    rows: int = 0
    mentioned_users: list[int] = field(default_factory=list)
    mentioned_roles: list[int] = field(default_factory=list)
    dms: int = 0
