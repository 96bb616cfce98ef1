"""The ``[invitations]`` section: a comment on a first-timer's pull request inviting them to the Discord."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.config.types import DurationOrZero, template_checker

INVITATION_PLACEHOLDERS = frozenset({"login", "repo", "number", "title", "invite"})
_INVITE_HOSTS = {"discord.gg": "", "www.discord.gg": "", "discord.com": "/invite", "www.discord.com": "/invite"}
_INVITE_CODE = re.compile(r"^[A-Za-z0-9-]{2,64}$")
_LABEL = re.compile(r"^[^\x00-\x1f\x7f]{1,50}$")
DEFAULT_MESSAGE = (
    "Thank you for your first pull request to {repo}, {login}! 🎉\n\n"
    "The people behind this project also talk on Discord: {invite}\n"
    "Once you are there, run `/link` to connect your GitHub account, so that the community can celebrate "
    "your contributions with you."
)


def _discord_invite(value: str) -> str:
    """Accept ``https://discord.gg/<code>`` or ``https://discord.com/invite/<code>`` and nothing else."""
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or host not in _INVITE_HOSTS or parts.query or parts.fragment or parts.username:
        raise ValueError(
            f"{value!r} is not a Discord invite link; write https://discord.gg/<code> or "
            "https://discord.com/invite/<code>"
        )
    prefix = _INVITE_HOSTS[host]
    path = parts.path.rstrip("/")
    if not path.startswith(prefix + "/") or not _INVITE_CODE.match(path[len(prefix) + 1 :]):
        raise ValueError(f"{value!r} has no invite code; write https://discord.gg/<code>")
    return value.strip()


def _label(value: str) -> str:
    if not _LABEL.match(value) or value != value.strip():
        raise ValueError(f"{value!r} is not a GitHub label name (1 to 50 characters, no control characters)")
    return value


DiscordInvite = Annotated[str, AfterValidator(_discord_invite)]


class InvitationSettings(BaseModel):
    """Invite a first-time contributor to the community's Discord with one comment on their pull request."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(
        False,
        description="Comment on a person's first pull request with the Discord invite (the GitHub token or App "
        "needs write access to issues and pull requests).",
    )
    on: Literal["opened", "merged"] = Field(
        "opened", description='When to comment: "opened" (the first PR is opened) or "merged" (it is merged).'
    )
    discord_invite: DiscordInvite | None = Field(
        None, description="The community's invite link, https://discord.gg/<code> (required when enabled)."
    )
    message: Annotated[str, template_checker(INVITATION_PLACEHOLDERS), Field(min_length=1, max_length=4000)] = Field(
        DEFAULT_MESSAGE,
        description="Text of the comment (Markdown); placeholders: {login} {repo} {number} {title} {invite}; "
        "names and titles are escaped.",
    )
    opt_out_labels: list[Annotated[str, AfterValidator(_label)]] = Field(
        default_factory=lambda: ["no-invitation"],
        description="A pull request carrying any of these labels gets no invitation.",
    )
    delay: DurationOrZero = Field(
        timedelta(minutes=2),
        description="Wait this long before posting, so that a label added just after the PR was opened (by a "
        'person or a labelling bot) is seen; "0s" posts at once.',
    )
    per_hour: int = Field(20, ge=1, le=500, description="At most this many invitations are posted in an hour.")

    @model_validator(mode="after")
    def _invite_when_enabled(self) -> InvitationSettings:
        if self.enabled and self.discord_invite is None:
            raise ValueError("discord_invite is required when invitations are enabled")
        return self
