"""The subset of GitHub's issue-search syntax that the emulator understands."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.sandbox.github.state import Item, Repo

Predicate = Callable[[Repo, Item], bool]
_TOKEN = re.compile(r'(-?)([A-Za-z][\w-]*):("[^"]*"|\S+)|("[^"]*"|\S+)')
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SearchError(ValueError):
    """The query cannot be understood (GitHub answers 422)."""


@dataclass(slots=True)
class Query:
    """A parsed search query: qualifier predicates plus free-text words matched against titles."""

    predicates: list[Predicate] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    repos: set[str] = field(default_factory=set)

    def matches(self, repo: Repo, item: Item) -> bool:
        """Tell whether ``item`` of ``repo`` satisfies the query."""
        title = item.title.lower()
        return all(word in title for word in self.words) and all(p(repo, item) for p in self.predicates)


def _parse_time(text: str) -> tuple[datetime, datetime]:
    """Return the [start, end) span a date or date-time names."""
    if _DAY.match(text):
        start = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return start, start + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"invalid date {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment


def _compare(op: str, text: str) -> Callable[[datetime], bool]:
    start, end = _parse_time(text)
    exact = start == end
    if op == ">=":
        return lambda t: t >= start
    if op == ">":
        return (lambda t: t > start) if exact else (lambda t: t >= end)
    if op == "<":
        return lambda t: t < start
    return (lambda t: t <= start) if exact else (lambda t: t < end)


def time_range(expr: str) -> Callable[[datetime | None], bool]:
    """Turn ``<2024-05-01T12:00:00Z``, ``>=2024-01-01``, ``a..b`` or a plain date into a test."""
    for op in (">=", "<=", ">", "<"):
        if expr.startswith(op):
            test = _compare(op, expr[len(op) :])
            return lambda value: value is not None and test(value)
    if ".." in expr:
        low, _, high = expr.partition("..")
        lo = None if low in ("", "*") else _parse_time(low)[0]
        hi_span = None if high in ("", "*") else _parse_time(high)

        def within(value: datetime | None) -> bool:
            if value is None or (lo is not None and value < lo):
                return False
            if hi_span is None:
                return True
            start, end = hi_span
            return value <= start if start == end else value < end

        return within
    start, end = _parse_time(expr)
    if start == end:
        return lambda value: value is not None and value == start
    return lambda value: value is not None and start <= value < end


def _login(value: str) -> str:
    return f"{value[4:]}[bot]" if value.startswith("app/") else value


def _qualifier(name: str, value: str) -> Predicate | None:
    lower = value.lower()
    if name in ("is", "type", "state"):
        checks: dict[str, Predicate] = {
            "pr": lambda r, i: i.is_pull,
            "pull-request": lambda r, i: i.is_pull,
            "issue": lambda r, i: not i.is_pull,
            "open": lambda r, i: i.state == "open",
            "closed": lambda r, i: i.state == "closed",
            "merged": lambda r, i: i.merged_at is not None,
            "unmerged": lambda r, i: i.is_pull and i.state == "closed" and i.merged_at is None,
            "draft": lambda r, i: i.is_pull and i.draft,
        }
        if lower not in checks:
            raise SearchError(f"unknown value {name}:{value}")
        return checks[lower]
    if name == "author":
        login = _login(lower)
        return lambda r, i: i.author.lower() == login
    if name in ("repo",):
        return lambda r, i: r.full_name.lower() == lower
    if name in ("org", "user", "owner"):
        return lambda r, i: r.owner.lower() == lower
    if name == "label":
        names = {part.strip() for part in lower.split(",")}
        return lambda r, i: any(label.lower() in names for label in i.labels)
    if name == "no" and lower == "label":
        return lambda r, i: not i.labels
    if name == "reviewed-by":
        return lambda r, i: any(review.user.lower() == lower for review in i.reviews)
    if name == "review-requested":
        return lambda r, i: any(login.lower() == lower for login in i.requested_reviewers)
    if name == "team-review-requested":
        slug = lower.split("/")[-1]
        return lambda r, i: slug in (team.lower() for team in i.requested_teams)
    if name in ("merged", "created", "closed", "updated"):
        test = time_range(value)
        attribute = {"merged": "merged_at", "created": "created_at", "closed": "closed_at", "updated": "updated_at"}
        field_name = attribute[name]
        return lambda r, i: test(getattr(i, field_name))
    if name == "in":
        return None
    raise SearchError(f"unsupported qualifier {name}:")


def _negated(predicate: Predicate) -> Predicate:
    return lambda repo, item: not predicate(repo, item)


def parse_query(q: str) -> Query:
    """Parse ``q`` (``is:pr is:merged author:dev42 repo:o/r merged:<2024-05-01T12:00:00Z``)."""
    query = Query()
    for match in _TOKEN.finditer(q):
        negate, name, value, word = match.groups()
        if word is not None:
            query.words.append(word.strip('"').lower())
            continue
        name = name.lower()
        value = value.strip('"')
        predicate = _qualifier(name, value)
        if name == "repo":
            query.repos.add(value.lower())
        if predicate is None:
            continue
        query.predicates.append(_negated(predicate) if negate else predicate)
    return query


def search_items(repos: list[Repo], q: str, sort: str | None, order: str | None) -> list[tuple[Repo, Item]]:
    """Return every matching issue and pull request across ``repos``, sorted as asked."""
    query = parse_query(q)
    if query.repos:
        repos = [repo for repo in repos if repo.full_name.lower() in query.repos]
    found = [(repo, item) for repo in repos for item in repo.items.values() if query.matches(repo, item)]
    key_name = sort if sort in ("created", "updated") else "created"
    attribute = "updated_at" if key_name == "updated" else "created_at"
    found.sort(key=lambda pair: (getattr(pair[1], attribute), pair[1].id), reverse=(order or "desc") != "asc")
    return found
