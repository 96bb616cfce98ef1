"""GraphQL queries for backfilling a repository's history, and pure parsers for their answers.

Each query is a module constant with its own operation name; the sandbox's GitHub emulator recognises
the query by that name. Run one with ``GitHubWorker.graphql(QUERY, page_variables(...))`` and hand the
answer's ``data`` to the matching ``parse_*`` function, which returns plain frozen dataclasses and the
cursor of the next page (``None`` on the last page). Page sizes are variables (``first``), so a caller can
ask for smaller pages when GitHub times out on a busy repository.

GraphQL gives bot logins without the ``[bot]`` suffix that REST and webhooks use; the parsers add it,
so a login reads the same whichever source it came from. Pull requests, reviews and issues are keyed by
``fullDatabaseId`` (a 64-bit ``BigInt`` sent as a string; the deprecated ``databaseId`` cannot hold ids
above 2^31), which equals the REST and webhook ids. A deleted account (``author: null``) becomes
:data:`GHOST`, GitHub's own placeholder user; every actor keeps its account type (bot, organisation or user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.counting import GHOST_ID, GHOST_LOGIN, is_bot_account

OP_BACKFILL_PULLS = "BackfillPulls"
OP_BACKFILL_REVIEWS = "BackfillReviews"
OP_BACKFILL_ISSUES = "BackfillIssues"
OP_BACKFILL_STARS = "BackfillStars"

_ACTOR_FRAGMENT = """
fragment BackfillActor on Actor {
  __typename
  login
  ... on User { databaseId }
  ... on Bot { databaseId }
  ... on Organization { databaseId }
  ... on Mannequin { databaseId }
}
"""

BACKFILL_PULLS = (
    """
query BackfillPulls($owner: String!, $name: String!, $cursor: String, $first: Int!) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequests(states: MERGED, first: $first, after: $cursor, orderBy: {field: CREATED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        fullDatabaseId
        number
        title
        url
        createdAt
        mergedAt
        author { ...BackfillActor }
        mergedBy { ...BackfillActor }
        labels(first: 20) { nodes { name } }
        reviews(first: 100) {
          totalCount
          nodes { fullDatabaseId state submittedAt author { ...BackfillActor } }
        }
      }
    }
  }
}
"""
    + _ACTOR_FRAGMENT
)

BACKFILL_REVIEWS = (
    """
query BackfillReviews($owner: String!, $name: String!, $number: Int!, $cursor: String, $first: Int!) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviews(first: $first, after: $cursor) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { fullDatabaseId state submittedAt author { ...BackfillActor } }
      }
    }
  }
}
"""
    + _ACTOR_FRAGMENT
)

BACKFILL_ISSUES = (
    """
query BackfillIssues($owner: String!, $name: String!, $cursor: String, $first: Int!) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    issues(states: CLOSED, first: $first, after: $cursor, orderBy: {field: CREATED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        fullDatabaseId
        number
        title
        url
        createdAt
        updatedAt
        closedAt
        stateReason
        author { ...BackfillActor }
        labels(first: 20) { nodes { name } }
        timelineItems(itemTypes: [CLOSED_EVENT], last: 1) {
          nodes { ... on ClosedEvent { actor { ...BackfillActor } } }
        }
      }
    }
  }
}
"""
    + _ACTOR_FRAGMENT
)

BACKFILL_STARS = """
query BackfillStars($owner: String!, $name: String!, $cursor: String, $first: Int!) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    stargazers(first: $first, after: $cursor, orderBy: {field: STARRED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { starredAt node { login databaseId } }
    }
  }
}
"""

RECENT_STARS = """
query RecentStars($owner: String!, $name: String!, $cursor: String, $first: Int!) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    stargazers(first: $first, after: $cursor, orderBy: {field: STARRED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { starredAt node { login databaseId } }
    }
  }
}
"""
"""Stargazers newest first: polling reads only the first page(s) until it meets a star it knows."""

DOCUMENTS = (BACKFILL_PULLS, BACKFILL_REVIEWS, BACKFILL_ISSUES, BACKFILL_STARS, RECENT_STARS)
"""Every GraphQL document Vestry sends."""


@dataclass(frozen=True, slots=True)
class Actor:
    """A GitHub account as the ledger keys it: numeric id, display login, bot or not."""

    id: int
    login: str
    is_bot: bool
    is_org: bool = False


GHOST = Actor(id=GHOST_ID, login=GHOST_LOGIN, is_bot=False)
"""GitHub's placeholder for deleted accounts (the REST API shows the same id and login)."""


@dataclass(frozen=True, slots=True)
class BackfillReview:
    """One submitted review of a merged pull request; ``state`` is upper case (``APPROVED``)."""

    id: int
    state: str
    submitted_at: datetime | None
    author: Actor


@dataclass(frozen=True, slots=True)
class BackfillPull:
    """One merged pull request; ``reviews_total`` above ``len(reviews)`` means fetch more with BACKFILL_REVIEWS."""

    number: int
    title: str
    url: str
    created_at: datetime
    merged_at: datetime
    author: Actor
    merged_by: Actor | None
    labels: tuple[str, ...]
    reviews: tuple[BackfillReview, ...]
    id: int = 0
    reviews_total: int = 0


@dataclass(frozen=True, slots=True)
class BackfillIssue:
    """One closed issue; ``state_reason`` is lower case like REST (``completed``, ``not_planned``) or None."""

    number: int
    title: str
    url: str
    created_at: datetime
    closed_at: datetime
    state_reason: str | None
    author: Actor
    closed_by: Actor | None
    labels: tuple[str, ...]
    id: int = 0
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BackfillStar:
    """One stargazer and when they starred."""

    user: Actor
    starred_at: datetime


def page_variables(full_name: str, cursor: str | None = None, first: int = 100, **extra: Any) -> dict[str, Any]:
    """Return the variables for one page (of ``first`` rows) of a backfill query on ``owner/name``."""
    owner, _, name = full_name.partition("/")
    return {"owner": owner, "name": name, "cursor": cursor, "first": first, **extra}


def parse_actor(node: dict[str, Any] | None) -> Actor | None:
    """Turn an Actor node into an :class:`Actor`; ``None`` stays ``None``."""
    if node is None:
        return None
    login = str(node.get("login") or "")
    database_id = node.get("databaseId")
    if not login or database_id is None:
        return GHOST
    typename = node.get("__typename")
    if int(database_id) == GHOST.id:
        return GHOST
    if typename == "Bot" and not login.endswith("[bot]"):
        login = f"{login}[bot]"
    is_bot = is_bot_account(login, typename)
    return Actor(id=int(database_id), login=login, is_bot=is_bot, is_org=typename == "Organization")


def parse_pull_page(data: dict[str, Any]) -> tuple[list[BackfillPull], str | None]:
    """Parse a BACKFILL_PULLS answer into pulls and the next cursor."""
    connection = _connection(data, "pullRequests")
    pulls = [_parse_pull(node) for node in connection["nodes"] if node is not None]
    return pulls, _next_cursor(connection)


def parse_review_page(data: dict[str, Any]) -> tuple[list[BackfillReview], str | None]:
    """Parse a BACKFILL_REVIEWS answer into reviews and the next cursor."""
    repository = _repository(data)
    pull = repository.get("pullRequest")
    if pull is None:
        return [], None
    connection = pull["reviews"]
    reviews = [_parse_review(node) for node in connection["nodes"] if node is not None and full_id(node)]
    return reviews, _next_cursor(connection)


def parse_issue_page(data: dict[str, Any]) -> tuple[list[BackfillIssue], str | None]:
    """Parse a BACKFILL_ISSUES answer into closed issues and the next cursor."""
    connection = _connection(data, "issues")
    issues = [_parse_issue(node) for node in connection["nodes"] if node is not None]
    return issues, _next_cursor(connection)


def parse_star_page(data: dict[str, Any]) -> tuple[list[BackfillStar], str | None]:
    """Parse a BACKFILL_STARS answer into stargazers and the next cursor."""
    connection = _connection(data, "stargazers")
    stars = [
        BackfillStar(user=_user_node(edge["node"]), starred_at=_time(edge["starredAt"]))
        for edge in connection["edges"]
        if edge is not None and edge.get("node") is not None
    ]
    return stars, _next_cursor(connection)


def rate_limit(data: dict[str, Any]) -> tuple[int, datetime] | None:
    """Return ``(remaining, resetAt)`` from a query's ``rateLimit``, when it asked for it."""
    info = data.get("rateLimit")
    if not isinstance(info, dict) or info.get("resetAt") is None:
        return None
    return int(info.get("remaining") or 0), _time(str(info["resetAt"]))


def total_count(data: dict[str, Any], connection: str) -> int:
    """Return ``totalCount`` of a repository connection (``pullRequests``, ``issues``, ``stargazers``)."""
    return int(_connection(data, connection).get("totalCount") or 0)


def _user_node(node: dict[str, Any]) -> Actor:
    return parse_actor({"__typename": "User", **node}) or GHOST


def _repository(data: dict[str, Any]) -> dict[str, Any]:
    if "repository" not in data and isinstance(data.get("data"), dict):
        data = data["data"]
    repository = data.get("repository")
    if repository is None:
        raise LookupError("the GraphQL answer has no repository")
    return repository


def _connection(data: dict[str, Any], name: str) -> dict[str, Any]:
    return _repository(data)[name]


def _next_cursor(connection: dict[str, Any]) -> str | None:
    info = connection.get("pageInfo") or {}
    return info.get("endCursor") if info.get("hasNextPage") else None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _labels(node: dict[str, Any]) -> tuple[str, ...]:
    return tuple(label["name"] for label in (node.get("labels") or {}).get("nodes", []) if label)


def full_id(node: dict[str, Any]) -> int:
    """Return a node's 64-bit ``fullDatabaseId`` (a string in JSON) as an integer; 0 when GitHub gave none."""
    value = node.get("fullDatabaseId")
    return int(value) if value is not None else 0


def _parse_review(node: dict[str, Any]) -> BackfillReview:
    submitted = node.get("submittedAt")
    return BackfillReview(
        id=full_id(node),
        state=str(node["state"]),
        submitted_at=_time(submitted) if submitted else None,
        author=parse_actor(node.get("author")) or GHOST,
    )


def _parse_pull(node: dict[str, Any]) -> BackfillPull:
    reviews = node.get("reviews") or {"nodes": [], "totalCount": 0}
    # A review is keyed by its id: one GitHub sent without an id cannot be recorded (it is left out, not a crash).
    parsed = tuple(_parse_review(review) for review in reviews["nodes"] if review and full_id(review))
    return BackfillPull(
        number=int(node["number"]),
        title=str(node.get("title") or ""),
        url=str(node.get("url") or ""),
        created_at=_time(node["createdAt"]),
        merged_at=_time(node["mergedAt"]),
        author=parse_actor(node.get("author")) or GHOST,
        merged_by=parse_actor(node.get("mergedBy")),
        labels=_labels(node),
        reviews=parsed,
        id=full_id(node),
        reviews_total=int(reviews.get("totalCount", len(parsed))),
    )


def _parse_issue(node: dict[str, Any]) -> BackfillIssue:
    closers = [item for item in (node.get("timelineItems") or {}).get("nodes", []) if item and "actor" in item]
    reason = node.get("stateReason")
    return BackfillIssue(
        number=int(node["number"]),
        title=str(node.get("title") or ""),
        url=str(node.get("url") or ""),
        created_at=_time(node["createdAt"]),
        closed_at=_time(node["closedAt"]),
        state_reason=str(reason).lower() if reason else None,
        author=parse_actor(node.get("author")) or GHOST,
        closed_by=parse_actor(closers[-1]["actor"]) if closers else None,
        labels=_labels(node),
        id=full_id(node),
        updated_at=_time(node["updatedAt"]) if node.get("updatedAt") else None,
    )
