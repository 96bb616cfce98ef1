"""The custom_ids of Vestry's persistent buttons: each kind's template and parser side by side.

A persistent button outlives the bot: it sits under a post for weeks and is clicked after restarts and upgrades,
so its custom_id carries everything the click needs. Each kind below is a frozen dataclass holding the parsed
parts, with the regular expression that reads an id (``TEMPLATE``), the method that writes one
(:meth:`custom_id`) and the one that turns a match back into the parts (:meth:`parse`). Building a click checks
that its own id matches its template, so a producer can never write an id its parser will not read.

Services build these (they stay free of discord.py); the cogs register them as ``discord.ui.DynamicItem``
subclasses through :func:`bot.discord.buttons.persistent`, which routes a click to the cog's handler with the
parsed dataclass. Templates also read the ids older versions of Vestry wrote, since those buttons are still up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, Self

NudgeAction = Literal["snooze", "onit"]
PromotionAction = Literal["approve", "decline"]


class Click(Protocol):
    """What every persistent button kind provides."""

    TEMPLATE: ClassVar[str]

    def custom_id(self) -> str:
        """The id Discord carries back when the button is clicked."""
        ...

    @classmethod
    def parse(cls, parts: Mapping[str, str | None]) -> Self:
        """Build the click from a template match's named groups."""
        ...


def _check(click: Click) -> None:
    if re.fullmatch(click.TEMPLATE, click.custom_id()) is None:
        raise ValueError(f"{click.custom_id()!r} does not match {type(click).__name__}'s template")


@dataclass(frozen=True)
class NudgeClick:
    """ "Snooze 1 day" and "On it" under a review reminder, for one reviewer (``key``: see ``button_key``)."""

    # Old reminders carried the whole reviewer key (``team:org/slug``), so any key up to Discord's limit is read.
    TEMPLATE: ClassVar[str] = r"nudge:(?P<action>snooze|onit):(?P<key>[^\s]{1,90})"

    action: NudgeAction
    key: str

    def __post_init__(self) -> None:
        _check(self)

    def custom_id(self) -> str:
        """``nudge:<action>:<reviewer key>``."""
        return f"nudge:{self.action}:{self.key}"

    @classmethod
    def parse(cls, parts: Mapping[str, str | None]) -> NudgeClick:
        """Read a matched id."""
        action: NudgeAction = "snooze" if parts["action"] == "snooze" else "onit"
        return cls(action, str(parts["key"]))


@dataclass(frozen=True)
class PromotionClick:
    """Approve or Decline under a promotion that waits for a maintainer."""

    TEMPLATE: ClassVar[str] = r"ladder:(?P<action>approve|decline):(?P<request>\d{1,19})"

    action: PromotionAction
    request_id: int

    def __post_init__(self) -> None:
        _check(self)

    @property
    def approve(self) -> bool:
        """Whether this is the Approve button."""
        return self.action == "approve"

    def custom_id(self) -> str:
        """``ladder:<approve|decline>:<request id>``."""
        return f"ladder:{self.action}:{self.request_id}"

    @classmethod
    def parse(cls, parts: Mapping[str, str | None]) -> PromotionClick:
        """Read a matched id."""
        action: PromotionAction = "approve" if parts["action"] == "approve" else "decline"
        return cls(action, int(str(parts["request"])))


@dataclass(frozen=True)
class PageClick:
    """Previous or Next under a leaderboard: the page it opens, of one category over one period."""

    # A disabled Previous on the first page carries page -1; it cannot be clicked, but it is still written.
    TEMPLATE: ClassVar[str] = r"lb:(?P<category>[a-z_]{1,32}):(?P<period>[a-z_]{1,32}):(?P<page>-?\d{1,9})"

    category: str
    period: str
    page: int

    def __post_init__(self) -> None:
        _check(self)

    def custom_id(self) -> str:
        """``lb:<category>:<period>:<page>``."""
        return f"lb:{self.category}:{self.period}:{self.page}"

    @classmethod
    def parse(cls, parts: Mapping[str, str | None]) -> PageClick:
        """Read a matched id."""
        return cls(str(parts["category"]), str(parts["period"]), int(str(parts["page"])))


@dataclass(frozen=True)
class LinkClick:
    """Start linking again: "Try again" under a failed link (``github_id`` None), or "This is me" under an
    announcement of someone not yet linked (``github_id`` the account to claim)."""

    TEMPLATE: ClassVar[str] = r"link:(?:retry|claim:(?P<github_id>\d{1,19}))"

    github_id: int | None = None

    def __post_init__(self) -> None:
        _check(self)

    def custom_id(self) -> str:
        """``link:retry``, or ``link:claim:<github id>``."""
        return "link:retry" if self.github_id is None else f"link:claim:{self.github_id}"

    @classmethod
    def parse(cls, parts: Mapping[str, str | None]) -> LinkClick:
        """Read a matched id."""
        raw = parts.get("github_id")
        return cls(None if raw is None else int(raw))


def _unnamed(template: str) -> str:
    """The template with its named groups made plain, so that several can sit in one pattern."""
    return re.sub(r"\(\?P<\w+>", "(?:", template)


@dataclass(frozen=True)
class StaleClick:
    """A button of Vestry's whose id no template reads: from an older version, or damaged. Its click is answered
    with a short note instead of leaving the member with "This interaction failed"."""

    KINDS: ClassVar[tuple[type[Click], ...]] = (NudgeClick, PromotionClick, PageClick, LinkClick)
    PREFIXES: ClassVar[tuple[str, ...]] = ("nudge", "ladder", "lb", "link")
    TEMPLATE: ClassVar[str] = (
        "(?!(?:"
        + "|".join(_unnamed(kind.TEMPLATE) for kind in KINDS)
        + r")\Z)(?P<prefix>"
        + "|".join(PREFIXES)
        + "):.*"
    )

    prefix: str

    def custom_id(self) -> str:
        """The kind's prefix (the rest of the id is what could not be read)."""
        return f"{self.prefix}:"

    @classmethod
    def parse(cls, parts: Mapping[str, str | None]) -> StaleClick:
        """Read a matched id (only its prefix matters)."""
        return cls(str(parts["prefix"]))


PERSISTENT: tuple[type[Click], ...] = (*StaleClick.KINDS, StaleClick)
"""Every kind of persistent button; the tests read each template against what its kind writes."""
