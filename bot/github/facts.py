"""GitHub's shapes to ledger facts: the one place that reads them.

Webhook deliveries, REST objects (the poller's lists, reviews, timelines, stargazers) and the GraphQL backfill's
nodes all become :mod:`bot.ledger` facts here, with one reading of accounts (``bot.counting.is_bot_account``),
times (``bot.timeutil.parse_iso``) and states. The ingestion paths (``webhooks``, ``poller``, ``backfill``) only
fetch and hand over; a new field GitHub sends is read here once, and ``tests/github/test_translate.py`` and the
webhook fixtures check every path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from bot.counting import is_bot_account
from bot.github import graphql as gq
from bot.ledger import Actor, Fact, IssueFact, PullFact, ReviewFact, ReviewRequestFact, StarFact
from bot.timeutil import parse_iso


class PayloadError(ValueError):
    """The payload lacks something the event needs."""


def actor(data: Any) -> Actor | None:
    """Read a GitHub user object."""
    if not isinstance(data, Mapping) or "id" not in data or "login" not in data:
        return None
    try:
        return Actor(
            id=int(data["id"]),
            login=str(data["login"]),
            is_bot=is_bot_account(str(data["login"]), data.get("type")),
            avatar_url=data.get("avatar_url"),
            is_org=data.get("type") == "Organization",
        )
    except (TypeError, ValueError):
        return None


def _labels(data: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(label.get("name", "")) for label in data.get("labels") or () if isinstance(label, Mapping))


def pull_fact(repo: str, pr: Mapping[str, Any]) -> PullFact:
    """Read a pull request object (webhook or REST)."""
    merged_at = parse_iso(pr.get("merged_at"))
    merged = bool(pr.get("merged")) or merged_at is not None
    state: Literal["open", "closed", "merged"] = (
        "merged" if merged else ("open" if pr.get("state") == "open" else "closed")
    )
    return PullFact(
        repo=repo,
        number=int(pr["number"]),
        title=str(pr.get("title") or ""),
        url=str(pr.get("html_url") or ""),
        author=actor(pr.get("user")),
        state=state,
        draft=bool(pr.get("draft")),
        labels=_labels(pr),
        created_at=parse_iso(pr.get("created_at")),
        updated_at=parse_iso(pr.get("updated_at")),
        merged_at=merged_at,
        merged_by=actor(pr.get("merged_by")),
        closed_at=parse_iso(pr.get("closed_at")),
    )


def issue_fact(repo: str, issue: Mapping[str, Any], closer: Any = None) -> IssueFact:
    """Read an issue object (webhook or REST)."""
    return IssueFact(
        repo=repo,
        number=int(issue["number"]),
        title=str(issue.get("title") or ""),
        url=str(issue.get("html_url") or ""),
        author=actor(issue.get("user")),
        state="closed" if issue.get("state") == "closed" else "open",
        labels=_labels(issue),
        created_at=parse_iso(issue.get("created_at")),
        closed_at=parse_iso(issue.get("closed_at")),
        closed_by=actor(closer if closer is not None else issue.get("closed_by")),
        state_reason=issue.get("state_reason"),
        updated_at=parse_iso(issue.get("updated_at")),
    )


def repo_name(payload: Mapping[str, Any]) -> str | None:
    """Return the repository's ``owner/name`` from a payload."""
    repository = payload.get("repository")
    if isinstance(repository, Mapping) and isinstance(repository.get("full_name"), str):
        return str(repository["full_name"])
    return None


def facts_from_webhook(event: str, payload: Mapping[str, Any]) -> list[Fact]:
    """Translate one delivery into facts; events Vestry does not use give none."""
    repo = repo_name(payload)
    action = payload.get("action")
    if repo is None:
        return []
    try:
        if event == "pull_request":
            return _pull_request(repo, action, payload)
        if event == "pull_request_review":
            return _review(repo, action, payload)
        if event == "issues" and action in {"opened", "closed", "reopened", "edited", "labeled", "unlabeled"}:
            issue = payload["issue"]
            closer = payload.get("sender") if action == "closed" else None
            return [issue_fact(repo, issue, closer)]
        if event == "star" and action in {"created", "deleted"}:
            user = actor(payload.get("sender"))
            if user is None:
                raise PayloadError("star event without a sender")
            return [StarFact(repo, user, parse_iso(payload.get("starred_at")), removed=action == "deleted")]
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"{event}.{action}: missing or malformed {exc}") from None
    return []


def _pull_request(repo: str, action: Any, payload: Mapping[str, Any]) -> list[Fact]:
    pr = payload["pull_request"]
    facts: list[Fact] = [pull_fact(repo, pr)]
    if action in {"review_requested", "review_request_removed"}:
        when = parse_iso(pr.get("updated_at")) or parse_iso(pr.get("created_at"))
        if when is None:
            raise PayloadError("review request without a time")
        removed = action == "review_request_removed"
        sender = actor(payload.get("sender"))
        if isinstance(payload.get("requested_reviewer"), Mapping):
            reviewer = actor(payload["requested_reviewer"])
            if reviewer is not None:
                number = int(pr["number"])
                facts.append(ReviewRequestFact(repo, number, "user", str(reviewer.id), when, removed, reviewer, sender))
        elif isinstance(payload.get("requested_team"), Mapping):
            team = payload["requested_team"]
            slug = str(team.get("slug") or team["name"])
            facts.append(ReviewRequestFact(repo, int(pr["number"]), "team", slug, when, removed, requester=sender))
    return facts


def _review(repo: str, action: Any, payload: Mapping[str, Any]) -> list[Fact]:
    if action not in {"submitted", "dismissed", "edited"}:
        return []
    review = payload["review"]
    pr = payload["pull_request"]
    submitted = parse_iso(review.get("submitted_at"))
    if submitted is None:
        return []  # a pending review has no time and is not a review yet
    state = "DISMISSED" if action == "dismissed" else str(review.get("state") or "commented").upper()
    return [ReviewFact(int(review["id"]), repo, int(pr["number"]), actor(review.get("user")), state, submitted)]


# REST lists the poller reads


def review_facts(repo: str, number: int, reviews: Iterable[Mapping[str, Any]]) -> list[ReviewFact]:
    """Translate ``GET /pulls/{n}/reviews`` items; pending reviews (no time yet) are left out."""
    facts = []
    for review in reviews:
        submitted = parse_iso(review.get("submitted_at"))
        if submitted is None or str(review.get("state", "")).upper() == "PENDING":
            continue
        facts.append(
            ReviewFact(
                int(review["id"]),
                repo,
                number,
                actor(review.get("user")),
                str(review.get("state") or "COMMENTED").upper(),
                submitted,
            )
        )
    return facts


def request_facts(
    repo: str, pr: Mapping[str, Any], timeline: Sequence[Mapping[str, Any]] | None, reviews: Sequence[ReviewFact] = ()
) -> list[ReviewRequestFact]:
    """Review requests from a timeline (latest event per reviewer), else from ``requested_reviewers``."""
    number = int(pr["number"])
    if timeline is None:
        when = parse_iso(pr.get("updated_at")) or parse_iso(pr.get("created_at"))
        if when is None:
            return []
        facts = [
            ReviewRequestFact(repo, number, "user", str(user.id), when, actor=user)
            for user in (actor(u) for u in pr.get("requested_reviewers") or ())
            if user is not None
        ]
        facts += [
            ReviewRequestFact(repo, number, "team", str(team.get("slug") or team.get("name")), when)
            for team in pr.get("requested_teams") or ()
        ]
        return facts
    latest: dict[tuple[str, str], ReviewRequestFact] = {}
    for event in timeline:
        kind = event.get("event")
        at = parse_iso(event.get("created_at"))
        if kind not in ("review_requested", "review_request_removed") or at is None:
            continue
        removed = kind == "review_request_removed"
        team = event.get("requested_team")
        user = actor(event.get("requested_reviewer"))
        by = actor(event.get("actor"))
        if isinstance(team, Mapping):
            slug = str(team.get("slug") or team.get("name"))
            latest[("team", slug)] = ReviewRequestFact(repo, number, "team", slug, at, removed, requester=by)
        elif user is not None:
            uid = str(user.id)
            latest[("user", uid)] = ReviewRequestFact(repo, number, "user", uid, at, removed, user, by)
    answered = {(str(r.reviewer.id), r.submitted_at) for r in reviews if r.reviewer is not None}
    return [
        fact
        for fact in latest.values()
        if fact.removed
        or fact.kind == "team"
        or not any(who == fact.reviewer and when >= fact.at for who, when in answered)
    ]


def star_fact(repo: str, entry: Mapping[str, Any]) -> StarFact | None:
    """Translate one ``star+json`` stargazer entry."""
    user = actor(entry.get("user"))
    return None if user is None else StarFact(repo, user, parse_iso(entry.get("starred_at")))


# The GraphQL backfill


def ledger_actor(who: gq.Actor | None) -> Actor | None:
    """Turn a GraphQL actor into a ledger actor."""
    return None if who is None else Actor(who.id, who.login, who.is_bot, is_org=who.is_org)


def graphql_pull_facts(repo: str, pull: gq.BackfillPull, extra_reviews: Sequence[gq.BackfillReview] = ()) -> list[Fact]:
    """Translate one merged pull request of the backfill query, with its reviews."""
    facts: list[Fact] = [
        PullFact(
            repo=repo,
            number=pull.number,
            title=pull.title,
            url=pull.url,
            author=ledger_actor(pull.author),
            state="merged",
            labels=pull.labels,
            created_at=pull.created_at,
            updated_at=pull.merged_at,
            merged_at=pull.merged_at,
            merged_by=ledger_actor(pull.merged_by),
            closed_at=pull.merged_at,
        )
    ]
    seen: set[int] = set()
    for review in (*pull.reviews, *extra_reviews):
        if review.submitted_at is None or review.id in seen or review.state.upper() == "PENDING":
            continue
        seen.add(review.id)
        facts.append(
            ReviewFact(
                review.id, repo, pull.number, ledger_actor(review.author), review.state.upper(), review.submitted_at
            )
        )
    return facts


def graphql_issue_fact(repo: str, issue: gq.BackfillIssue) -> IssueFact:
    """Translate one closed issue of the backfill query."""
    return IssueFact(
        repo=repo,
        number=issue.number,
        title=issue.title,
        url=issue.url,
        author=ledger_actor(issue.author),
        state="closed",
        labels=issue.labels,
        created_at=issue.created_at,
        closed_at=issue.closed_at,
        closed_by=ledger_actor(issue.closed_by),
        state_reason=issue.state_reason,
        updated_at=issue.updated_at or issue.closed_at,
    )


def graphql_star_fact(repo: str, star: gq.BackfillStar) -> StarFact:
    """Translate one stargazer of the backfill (or poll) query."""
    user = ledger_actor(star.user)
    assert user is not None
    return StarFact(repo, user, star.starred_at)
