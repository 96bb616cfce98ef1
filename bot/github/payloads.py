"""Turn GitHub webhook payloads into ledger facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from bot.counting import is_bot_account
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
