"""The ladder's pure rules: which tiers a member's contributions reach, and what is missing for the next one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.config.models import Tier, TierCriteria
from bot.i18n import ENGLISH, Lang
from bot.services.stats import Contributions

APPROVED = "approved"
PENDING = "pending"
DECLINED = "declined"

# (criterion, singular phrase, plural phrase) for the countable criteria, in the order /rank lists them.
_COUNTED: tuple[tuple[str, str, str], ...] = (
    ("merged_prs", "merged PR", "merged PRs"),
    ("reviews", "review", "reviews"),
    ("merges", "merge of someone else's PR", "merges of other people's PRs"),
    ("issues_closed", "closed issue", "closed issues"),
    ("kudos", "kudos", "kudos"),
    ("recognitions", "recognition", "recognitions"),
)


@dataclass(frozen=True)
class Climb:
    """Where a member stands on the ladder by their contributions and the maintainers' decisions."""

    reached: tuple[int, ...]
    blocked_at: int | None = None

    @property
    def top(self) -> int | None:
        """The highest tier reached."""
        return max(self.reached) if self.reached else None


def criteria_met(criteria: TierCriteria, contributions: Contributions, linked: bool) -> bool:
    """Tell whether every criterion given holds."""
    if criteria.linked and not linked:
        return False
    if criteria.starred and not contributions.starred:
        return False
    return all(
        getattr(criteria, name) is None or getattr(contributions, name) >= getattr(criteria, name)
        for name, _, _ in _COUNTED
    )


def climb(
    tiers: Sequence[Tier],
    contributions: Mapping[timedelta | None, Contributions],
    linked: bool,
    approvals: Mapping[str, str],
) -> Climb:
    """Walk up the ladder: every tier whose criteria hold is reached, until one that waits for approval."""
    reached: list[int] = []
    for index, tier in enumerate(tiers):
        if not criteria_met(tier.criteria, contributions[tier.criteria.window], linked):
            continue
        if tier.approval and approvals.get(tier.name) != APPROVED:
            return Climb(tuple(reached), index)
        reached.append(index)
    return Climb(tuple(reached))


def windows(tiers: Sequence[Tier]) -> set[timedelta | None]:
    """The distinct counting windows the tiers use (None is all time)."""
    return {None} | {tier.criteria.window for tier in tiers}


def describe_window(window: timedelta | None) -> str:
    """Say a window in words: " in the last 365 days"."""
    if window is None:
        return ""
    days = window.total_seconds() / 86400
    if days >= 1 and days == int(days):
        return f" in the last {int(days)} day{'s' if days != 1 else ''}"
    hours = max(1, round(window.total_seconds() / 3600))
    return f" in the last {hours} hour{'s' if hours != 1 else ''}"


def missing(criteria: TierCriteria, contributions: Contributions, linked: bool, speaker: Lang = ENGLISH) -> list[str]:
    """List, in the reader's words, what a member still needs for the criteria ("2 more merged PRs")."""
    needs: list[str] = []
    if criteria.linked and not linked:
        needs.append(speaker.gettext("link your GitHub account with /link"))
    if criteria.starred and not contributions.starred:
        needs.append(speaker.gettext("star one of the project's repositories"))
    for name, _, _ in _COUNTED:
        wanted = getattr(criteria, name)
        if wanted is None:
            continue
        gap = wanted - getattr(contributions, name)
        if gap > 0:
            needs.append(_within(_more(name, gap, speaker), criteria.window, speaker))
    return needs


def _more(name: str, gap: int, speaker: Lang) -> str:
    if name == "reviews":
        return speaker.ngettext("{count} more review", "{count} more reviews", gap)
    if name == "merges":
        return speaker.ngettext(
            "{count} more merge of someone else's PR", "{count} more merges of other people's PRs", gap
        )
    if name == "issues_closed":
        return speaker.ngettext("{count} more closed issue", "{count} more closed issues", gap)
    if name == "kudos":
        return speaker.ngettext("{count} more kudos", "{count} more kudos", gap)
    if name == "recognitions":
        return speaker.ngettext("{count} more recognition", "{count} more recognitions", gap)
    return speaker.ngettext("{count} more merged PR", "{count} more merged PRs", gap)


def _within(need: str, window: timedelta | None, speaker: Lang) -> str:
    """Add the counting window to a need: "2 more reviews in the last 30 days"."""
    if window is None:
        return need
    days = window.total_seconds() / 86400
    if days >= 1 and days == int(days):
        return speaker.ngettext(
            "{need} in the last {count} day", "{need} in the last {count} days", int(days), need=need
        )
    hours = max(1, round(window.total_seconds() / 3600))
    return speaker.ngettext("{need} in the last {count} hour", "{need} in the last {count} hours", hours, need=need)


def describe_criteria(criteria: TierCriteria, speaker: Lang = ENGLISH) -> str:
    """Say what a tier asks for, for /rank and the approval post."""
    parts: list[str] = []
    if criteria.linked:
        parts.append(speaker.gettext("a linked GitHub account"))
    if criteria.starred:
        parts.append(speaker.gettext("a star on a followed repository"))
    for name, _, _ in _COUNTED:
        wanted = getattr(criteria, name)
        if wanted is not None:
            parts.append(_counted(name, wanted, speaker))
    if not parts:
        return speaker.gettext("nothing")
    return _within(", ".join(parts), criteria.window, speaker)


def _counted(name: str, wanted: int, speaker: Lang) -> str:
    if name == "reviews":
        return speaker.ngettext("{count} review", "{count} reviews", wanted)
    if name == "merges":
        return speaker.ngettext("{count} merge of someone else's PR", "{count} merges of other people's PRs", wanted)
    if name == "issues_closed":
        return speaker.ngettext("{count} closed issue", "{count} closed issues", wanted)
    if name == "kudos":
        return speaker.ngettext("{count} kudos", "{count} kudos", wanted)
    if name == "recognitions":
        return speaker.ngettext("{count} recognition", "{count} recognitions", wanted)
    return speaker.ngettext("{count} merged PR", "{count} merged PRs", wanted)


def role_plan(tiers: Sequence[Tier], held: Sequence[int], mode: str) -> set[int]:
    """Return the tier indices whose roles a member should wear: all held ("stack") or the highest ("replace")."""
    if not held:
        return set()
    return set(held) if mode == "stack" else {max(held)}


def render_promotion(template: str, member: str, tier: str, next_tier: str | None) -> str:
    """Fill the promotion template (its placeholders were checked when the settings were loaded)."""
    return template.format(member=member, tier=tier, next_tier=next_tier or "the top of the ladder")
