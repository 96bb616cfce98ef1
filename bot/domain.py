"""The domain events: one frozen dataclass per kind of thing that happened, serialised here and nowhere else.

The ledger, linking and peer recognition write them (``bot.events.append_event``); the event bus hands them,
decoded, to the consumers (recognition, the ladder), which match on their types. Each is stored as its ``KIND``
and its fields as a JSON object, so the event log keeps the shape it always had. A row whose kind no class claims
is an error at decoding (a test covers every kind), never a post that silently goes missing.

Times are ISO 8601 strings, exactly as stored; ids are GitHub's (``*_id`` of accounts) or Discord's snowflakes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


class UnknownEvent(ValueError):
    """A stored event whose kind no domain event class claims."""


@dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event; ``KIND`` is the name stored in the event log."""

    KIND: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        """The event's fields, as stored."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PullEvent(DomainEvent):
    """The fields every pull-request event carries."""

    repo: str
    number: int
    title: str = ""
    url: str = ""
    author_id: int | None = None
    author_login: str | None = None


@dataclass(frozen=True)
class PullMerged(PullEvent):
    """A pull request was merged."""

    KIND: ClassVar[str] = "pr.merged"
    merged_at: str | None = None
    merged_by_id: int | None = None
    merged_by_login: str | None = None


@dataclass(frozen=True)
class PullOpened(PullEvent):
    """A pull request was opened."""

    KIND: ClassVar[str] = "pr.opened"
    draft: bool = False


@dataclass(frozen=True)
class PullClosed(PullEvent):
    """A pull request was closed without being merged."""

    KIND: ClassVar[str] = "pr.closed"


@dataclass(frozen=True)
class ReadyForReview(PullEvent):
    """A draft pull request was marked ready for review."""

    KIND: ClassVar[str] = "pr.ready_for_review"


@dataclass(frozen=True)
class ConvertedToDraft(PullEvent):
    """An open pull request was turned back into a draft."""

    KIND: ClassVar[str] = "pr.converted_to_draft"


@dataclass(frozen=True)
class ReviewSubmitted(DomainEvent):
    """A review was submitted on a pull request (``state``: APPROVED, CHANGES_REQUESTED, COMMENTED…)."""

    KIND: ClassVar[str] = "review.submitted"
    id: int
    repo: str
    number: int
    reviewer_id: int | None = None
    state: str = ""
    submitted_at: str | None = None


@dataclass(frozen=True)
class ReviewRequestEvent(DomainEvent):
    """The fields of a review request: ``kind`` is ``user`` or ``team``, ``reviewer`` its id or slug."""

    repo: str
    number: int
    kind: str
    reviewer: str
    at: str | None = None


@dataclass(frozen=True)
class ReviewRequested(ReviewRequestEvent):
    """A review was requested from a person or a team."""

    KIND: ClassVar[str] = "review.requested"


@dataclass(frozen=True)
class ReviewRequestRemoved(ReviewRequestEvent):
    """A review request was withdrawn."""

    KIND: ClassVar[str] = "review.request_removed"


@dataclass(frozen=True)
class IssueClosed(DomainEvent):
    """An issue was closed (``state_reason``: completed, not_planned, duplicate, or None for old issues)."""

    KIND: ClassVar[str] = "issue.closed"
    repo: str
    number: int
    title: str = ""
    url: str = ""
    author_id: int | None = None
    closed_by_id: int | None = None
    closed_at: str | None = None
    state_reason: str | None = None


@dataclass(frozen=True)
class Starred(DomainEvent):
    """Someone starred a followed repository."""

    KIND: ClassVar[str] = "star.created"
    repo: str
    user_id: int | None = None
    starred_at: str | None = None


@dataclass(frozen=True)
class MemberLinked(DomainEvent):
    """A Discord member linked a GitHub account."""

    KIND: ClassVar[str] = "member.linked"
    guild_id: int
    discord_id: int
    github_id: int
    login: str = ""


@dataclass(frozen=True)
class MemberUnlinked(DomainEvent):
    """A Discord member's link to a GitHub account was removed (unlinked, replaced or moved)."""

    KIND: ClassVar[str] = "member.unlinked"
    guild_id: int
    discord_id: int
    github_id: int


@dataclass(frozen=True)
class KudosGiven(DomainEvent):
    """A member gave another member kudos."""

    KIND: ClassVar[str] = "kudos.given"
    guild_id: int
    giver_id: int
    receiver_id: int
    reason: str = ""
    at: str | None = None


@dataclass(frozen=True)
class KudosWithdrawn(DomainEvent):
    """A member took back kudos given by a reaction (removed it within the grace period)."""

    KIND: ClassVar[str] = "kudos.withdrawn"
    guild_id: int
    giver_id: int
    receiver_id: int
    message_id: int
    at: str | None = None


@dataclass(frozen=True)
class Recognized(DomainEvent):
    """A maintainer recognised a member's work outside code (``kind``: docs, talk, answers, design…)."""

    KIND: ClassVar[str] = "recognition.given"
    guild_id: int
    member_id: int
    by_id: int
    kind: str
    link: str | None = None
    id: int | None = None
    at: str | None = None


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.KIND: cls
    for cls in (
        PullMerged,
        PullOpened,
        PullClosed,
        ReadyForReview,
        ConvertedToDraft,
        ReviewSubmitted,
        ReviewRequested,
        ReviewRequestRemoved,
        IssueClosed,
        Starred,
        MemberLinked,
        MemberUnlinked,
        KudosGiven,
        KudosWithdrawn,
        Recognized,
    )
}


def decode(kind: str, payload: dict[str, Any]) -> DomainEvent:
    """Rebuild a stored event; keys the class does not know are ignored (older rows may carry more)."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise UnknownEvent(f"no domain event is called {kind!r}")
    names = {field.name for field in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in payload.items() if key in names})
