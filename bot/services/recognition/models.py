"""Plain data that recognition decides on and renders: celebrations, members, kudos, profiles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

CelebrationKind = Literal["first-pr", "milestone", "first-review", "first-issue-closed", "first-merge"]

FIRST_PR: CelebrationKind = "first-pr"
MILESTONE: CelebrationKind = "milestone"
FIRST_REVIEW: CelebrationKind = "first-review"
FIRST_ISSUE_CLOSED: CelebrationKind = "first-issue-closed"
FIRST_MERGE: CelebrationKind = "first-merge"

BATCH_PREFIX = "kudos-batch:"


@dataclass(frozen=True)
class Celebration:
    """One thank-you worth posting: who, for what, and everything the post shows (stored as JSON)."""

    kind: CelebrationKind
    key: str
    github_id: int
    login: str
    seq: int
    avatar_url: str | None = None
    title: str = ""
    url: str = ""
    repo: str = ""
    number: int | None = None
    merged_by: str = ""
    other: str = ""  # the other person in the story: whose pull request a first merge merged
    at: str = ""
    count: int = 0
    shown_discord_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Serialise for the celebrations table."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Celebration:
        """Rebuild from the celebrations table, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def showing(self, discord_id: int | None) -> Celebration:
        """Return a copy that records which member the post shows."""
        return replace(self, shown_discord_id=discord_id)


def post_key(guild_id: int, celebration_key: str) -> str:
    """Return the outbox key of a celebration's own post, e.g. ``first-pr:<guild>:<github_id>``."""
    kind, _, rest = celebration_key.partition(":")
    return f"{kind}:{guild_id}:{rest}"


def batch_key(guild_id: int, first_seq: int) -> str:
    """Return the outbox key of a combined post, named for the first event it celebrates."""
    return f"{BATCH_PREFIX}{guild_id}:{first_seq}"


@dataclass(frozen=True)
class MemberRef:
    """A Discord member as a command saw them."""

    id: int
    name: str
    bot: bool = False


@dataclass(frozen=True)
class MessageRef:
    """A Discord message that someone was thanked for."""

    guild_id: int
    channel_id: int
    message_id: int

    @property
    def url(self) -> str:
        """The message's link."""
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{self.message_id}"


@dataclass(frozen=True)
class KudosGiven:
    """A /kudos that was recorded."""

    giver: MemberRef
    receiver: MemberRef
    reason: str
    total_received: int
    repeated: bool = False  # the same interaction, or a retry after its answer failed: nothing new was recorded
    channel_id: int | None = None  # where its post is (or goes), when the outbox holds it
    message: MessageRef | None = None  # the message thanked for (context menu or reaction)
    locale: str = "en"  # the language of its post (the channel posts' language)


@dataclass(frozen=True)
class RecognitionGiven:
    """A /recognize that was recorded; ``posted`` tells whether it went to the kudos channel."""

    id: int
    by: MemberRef
    member: MemberRef
    kind: str
    link: str
    total_of_kind: int
    posted: bool
    repeated: bool = False  # the same interaction again: nothing new was recorded


@dataclass(frozen=True)
class FirstPull:
    """A member's first merged pull request."""

    repo: str
    number: int
    title: str
    url: str
    merged_at: datetime | None


@dataclass(frozen=True)
class Profile:
    """What /profile shows about a member."""

    discord_id: int
    github_id: int | None
    login: str | None
    merged_prs: int = 0
    reviews: int = 0
    merges: int = 0
    issues_closed: int = 0
    kudos: int = 0
    recognitions: dict[str, int] = field(default_factory=dict)
    first_pr: FirstPull | None = None
    ladder: str | None = None

    @property
    def linked(self) -> bool:
        """Tell whether the member has linked a GitHub account."""
        return self.github_id is not None
