"""Celebration kinds as data: one entry per kind in :data:`KINDS` says everything recognition needs about it.

An entry names the domain event that can earn it, who that event celebrates, what the post shows about it
(``facts``), the rule that decides whether it is deserved (usually: "no earlier one exists", a parameterised
query from :data:`EARLIER`), and the words and colour of its post. The decider (celebrate.py), the renderer
(render.py) and the publisher (publish.py) read the table and nothing else about a kind, so adding a kind is one
entry here (plus its query in :data:`EARLIER`) and its test; CONTRIBUTING.md ("A celebration kind") walks
through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.config.models import KudosSettings
from bot.domain import DomainEvent, IssueClosed, PullMerged, ReviewSubmitted
from bot.events import Event
from bot.i18n import N_
from bot.services.recognition.models import (
    FIRST_ISSUE_CLOSED,
    FIRST_MERGE,
    FIRST_PR,
    FIRST_REVIEW,
    MILESTONE,
    Celebration,
    CelebrationKind,
)
from bot.timeutil import iso

GREEN, GOLD, BLUE = 0x2ECC71, 0xF1C40F, 0x3498DB
REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED"})

# "Does an earlier one exist?", per rule name. Each returns a row when the fact is not a first (or not one at all).
EARLIER: dict[str, str] = {
    FIRST_PR: (
        "SELECT 1 FROM pull_requests WHERE state = 'merged' AND author_id = ? "
        "AND (merged_at, repo, number) < (?, ?, ?) LIMIT 1"
    ),
    f"{FIRST_PR}:repository": (
        "SELECT 1 FROM pull_requests WHERE state = 'merged' AND author_id = ? "
        "AND (merged_at, repo, number) < (?, ?, ?) AND repo = ? LIMIT 1"
    ),
    FIRST_MERGE: (
        "SELECT 1 FROM pull_requests WHERE state = 'merged' AND merged_by_id = ? "
        "AND (author_id IS NULL OR author_id != merged_by_id) "
        "AND (merged_at, repo, number) < (?, ?, ?) LIMIT 1"
    ),
    FIRST_REVIEW: (  # reviewing your own pull request is not a first review either
        "SELECT 1 FROM pull_requests WHERE repo = ? AND number = ? AND author_id = ? "
        "UNION ALL "
        "SELECT 1 FROM reviews r LEFT JOIN pull_requests p ON p.repo = r.repo AND p.number = r.number "
        "WHERE r.reviewer_id = ? AND r.state != 'DISMISSED' "
        "AND (p.author_id IS NULL OR p.author_id != r.reviewer_id) AND (r.submitted_at, r.id) < (?, ?) LIMIT 1"
    ),
    FIRST_ISSUE_CLOSED: (
        "SELECT 1 FROM issues WHERE state = 'closed' AND closed_by_id = ? "
        "AND COALESCE(state_reason, 'completed') = 'completed' "
        "AND (COALESCE(closed_at, ''), repo, number) < (?, ?, ?) LIMIT 1"
    ),
}
MERGED_SO_FAR = (
    "SELECT COUNT(*) FROM pull_requests WHERE state = 'merged' AND author_id = ? "
    "AND (merged_at, repo, number) <= (?, ?, ?)"
)
CELEBRATED = "SELECT key FROM celebrations WHERE guild_id = ? AND key IN (SELECT value FROM json_each(?))"

Fields = dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """A celebration a fact may deserve; ``loud`` is False for one recorded without a post of its own."""

    celebration: Celebration
    loud: bool = True


@dataclass(frozen=True)
class First:
    """Deserved when no earlier one exists: ``query`` names the :data:`EARLIER` text, ``params`` fills it from
    (celebrated id, the event, the facts). ``per_repository``: with ``kudos.scope = "repository"`` it is a first
    in each repository (the query named ``<query>:repository`` takes the repository as its last parameter)."""

    query: str
    params: Callable[[int, Any, Fields], tuple[Any, ...]]
    per_repository: bool = False

    async def earn(
        self, conn: aiosqlite.Connection, kind: Kind, fields: Fields, data: Any, kudos: KudosSettings, guild: int
    ) -> list[Candidate]:
        """Return the celebration if nothing earlier exists."""
        github_id, repo = int(fields["github_id"]), str(fields["repo"])
        params = self.params(github_id, data, fields)
        name, key = self.query, f"{kind.name}:{github_id}"
        if self.per_repository and kudos.scope == "repository":
            name, key, params = f"{self.query}:repository", f"{kind.name}:{repo}:{github_id}", (*params, repo)
        if await conn.execute_fetchall(EARLIER[name], params):
            return []
        return [Candidate(Celebration(kind=kind.name, key=key, **fields))]


@dataclass(frozen=True)
class Milestones:
    """Deserved at each configured count of merged pull requests (``kudos.milestones``): the highest newly
    reached is announced, lower ones missed (late arrivals) are recorded quietly."""

    async def earn(
        self, conn: aiosqlite.Connection, kind: Kind, fields: Fields, data: Any, kudos: KudosSettings, guild: int
    ) -> list[Candidate]:
        """Return the milestones newly reached."""
        github_id = int(fields["github_id"])
        at = (fields["at"], fields["repo"], fields["number"])
        rows = list(await conn.execute_fetchall(MERGED_SO_FAR, (github_id, *at)))
        count = int(rows[0][0]) if rows and rows[0][0] is not None else 0
        keys = {m: f"{kind.name}:{m}:{github_id}" for m in sorted(set(kudos.milestones)) if m <= count}
        if not keys:
            return []
        celebrated = await conn.execute_fetchall(CELEBRATED, (guild, json.dumps(list(keys.values()))))
        done = {str(row[0]) for row in celebrated}
        reached = [
            Celebration(kind=kind.name, key=key, count=milestone, **fields)
            for milestone, key in keys.items()
            if key not in done
        ]
        return [Candidate(c, loud=index == len(reached) - 1) for index, c in enumerate(reached)]


Rule = First | Milestones


@dataclass(frozen=True)
class Template:
    """A headline the operator may configure: its ``kudos`` setting and its per-language ``[templates]`` key."""

    setting: str
    key: str

    @property
    def default(self) -> str:
        """The built-in English template (its translations are in the catalogues)."""
        return str(KudosSettings.model_fields[self.setting].default)


@dataclass(frozen=True)
class Kind:
    """Everything about one celebration kind.

    ``headline``, ``footer``, ``label``, ``detail`` and ``titled`` are gettext msgids filled with ``{author}``,
    ``{repo}``, ``{link}``, ``{merged_by}``, ``{other}``, ``{count}`` and ``{ordinal}``; a ``template`` replaces
    the headline with the operator's. ``everyone``: announced for people nobody has linked (otherwise only with
    ``kudos.other_firsts`` and for linked members). ``thank_by_dm``: a linked member also gets a thank-you DM.
    ``pull_details``: the post's title and link are the pull request's (the event does not carry them).
    ``emoji`` is the one the built-in headline opens with (none for the configurable ones).
    """

    name: CelebrationKind
    trigger: type[DomainEvent]
    celebrated: Callable[[Any], int | None]
    facts: Callable[[Event, Any], Fields]
    rule: Rule
    headline: str
    footer: str
    label: str
    detail: str
    titled: str
    colour: int = BLUE
    emoji: str = ""
    template: Template | None = None
    everyone: bool = False
    thank_by_dm: bool = False
    pull_details: bool = False


def _merged(event: Event, p: PullMerged) -> Fields:
    return {
        "seq": event.seq,
        "title": p.title or "",
        "url": p.url or "",
        "repo": p.repo,
        "number": p.number,
        "merged_by": p.merged_by_login or "",
        "at": p.merged_at or iso(event.created_at),
    }


def _merged_for_merger(event: Event, p: PullMerged) -> Fields:
    return _merged(event, p) | {"other": p.author_login or ""}


def _reviewed(event: Event, p: ReviewSubmitted) -> Fields:
    return {"seq": event.seq, "repo": p.repo, "number": p.number, "at": p.submitted_at or ""}


def _closed(event: Event, p: IssueClosed) -> Fields:
    return {
        "seq": event.seq,
        "title": p.title or "",
        "url": p.url or "",
        "repo": p.repo,
        "number": p.number,
        "at": p.closed_at or iso(event.created_at),
    }


def _merger(p: PullMerged) -> int | None:
    return None if p.merged_by_id is None or p.merged_by_id == p.author_id else p.merged_by_id


def _reviewer(p: ReviewSubmitted) -> int | None:
    return p.reviewer_id if p.state.upper() in REVIEW_STATES else None


def _closer(p: IssueClosed) -> int | None:
    # Closing as "not planned" or duplicate is triage, not a finished issue.
    return p.closed_by_id if (p.state_reason or "completed") == "completed" else None


def _in_order(github_id: int, p: Any, f: Fields) -> tuple[Any, ...]:
    return (github_id, f["at"], f["repo"], f["number"])


_MERGED_DETAIL = N_("{link} in {repo}, merged by {merged_by}")
_MERGED_TITLED = N_("In {repo}, merged by {merged_by}")

KINDS: dict[CelebrationKind, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            name=FIRST_PR,
            trigger=PullMerged,
            celebrated=lambda p: p.author_id,
            facts=_merged,
            rule=First(FIRST_PR, _in_order, per_repository=True),
            headline=Template("first_pr_message", "first_pr").default,
            footer=N_("First merged pull request"),
            label=N_("first merged pull request"),
            detail=_MERGED_DETAIL,
            titled=_MERGED_TITLED,
            colour=GREEN,
            template=Template("first_pr_message", "first_pr"),
            everyone=True,
            thank_by_dm=True,
        ),
        Kind(
            name=MILESTONE,
            trigger=PullMerged,
            celebrated=lambda p: p.author_id,
            facts=_merged,
            rule=Milestones(),
            headline=Template("milestone_message", "milestone").default,
            footer=N_("Milestone: {count} merged pull requests"),
            label=N_("{ordinal} merged pull request"),
            detail=_MERGED_DETAIL,
            titled=_MERGED_TITLED,
            colour=GOLD,
            template=Template("milestone_message", "milestone"),
            everyone=True,
        ),
        Kind(
            name=FIRST_REVIEW,
            trigger=ReviewSubmitted,
            celebrated=_reviewer,
            facts=_reviewed,
            rule=First(FIRST_REVIEW, lambda gid, p, f: (p.repo, p.number, gid, gid, p.submitted_at or "", p.id)),
            headline=N_("👀 {author} just gave their first review. Reviews keep {repo} moving: thank you!"),
            footer=N_("First review"),
            label=N_("first review"),
            detail=N_("reviewed {link} in {repo}"),
            titled=N_("A review in {repo}"),
            emoji="👀",
            pull_details=True,
        ),
        Kind(
            name=FIRST_ISSUE_CLOSED,
            trigger=IssueClosed,
            celebrated=_closer,
            facts=_closed,
            rule=First(FIRST_ISSUE_CLOSED, _in_order),
            headline=N_("✅ {author} just closed their first issue in {repo}. Thank you!"),
            footer=N_("First issue closed"),
            label=N_("first issue closed"),
            detail=N_("closed {link} in {repo}"),
            titled=N_("An issue closed in {repo}"),
            emoji="✅",
        ),
        Kind(
            name=FIRST_MERGE,
            trigger=PullMerged,
            celebrated=_merger,
            facts=_merged_for_merger,
            rule=First(FIRST_MERGE, _in_order),
            headline=N_(
                "🔑 {author} merged someone else's pull request for the first time. Thank you for looking after {repo}!"
            ),
            footer=N_("First merge of someone else's pull request"),
            label=N_("first merge of someone else's pull request"),
            detail=N_("merged {link} by {other} in {repo}"),
            titled=N_("A pull request by {other} in {repo}"),
            emoji="🔑",
        ),
    )
}


def kind_of(celebration: Celebration) -> Kind:
    """Return the table entry of a celebration's kind."""
    return KINDS[celebration.kind]
