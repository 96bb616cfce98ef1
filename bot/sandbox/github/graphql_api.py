"""Execute GraphQL queries against GitHub's schema, answering from the emulator's world.

Every query is checked first (``gql_schema.check``) and refused as GitHub refuses it: HTTP 200 with
``errors``. A valid query is executed by graphql-core, so only what it selects comes back, in its shape.
The world is exposed as dictionaries whose connection fields are functions of their arguments.
"""

from __future__ import annotations

import base64
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError as CoreError
from graphql import GraphQLResolveInfo, execute

from bot.sandbox.github.gql_schema import Checked, check, github_error, github_schema
from bot.sandbox.github.render import JSON, Renderer, iso
from bot.sandbox.github.state import GHOST_ID, GHOST_LOGIN, Item, Repo, Review, World

Node = dict[str, Any]


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS") from None


class GraphQLError(Exception):
    """An error GitHub reports in the ``errors`` list (HTTP 200), with its ``type``."""

    def __init__(self, message: str, type: str | None = None) -> None:
        super().__init__(message)
        self.type = type


@dataclass
class RateInfo:
    """What ``rateLimit`` reports for one query."""

    limit: int
    remaining: int
    used: int
    reset: int
    cost: int = 1
    nodes: int = 0


def _resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    if isinstance(source, Mapping) and info.field_name not in source:
        where = f"{info.parent_type.name}.{info.field_name}"
        raise GraphQLError(f"The sandbox's GitHub does not answer `{where}` (valid on GitHub).", "NOT_IMPLEMENTED")
    value = source.get(info.field_name) if isinstance(source, Mapping) else getattr(source, info.field_name, None)
    return value(**args) if callable(value) else value


def connection(rows: list[Any], node: Callable[[Any], Node], **args: Any) -> Node:
    """Return a connection over ``rows`` for ``first``/``after``/``last``/``before``."""
    start = _offset(args.get("after"))
    end = len(rows) if args.get("before") is None else min(_offset(args.get("before")), len(rows))
    if args.get("first") is not None:
        end = min(end, start + int(args["first"]))
    elif args.get("last") is not None:
        start = max(start, end - int(args["last"]))
    chunk = rows[start:end]
    info = {
        "hasNextPage": end < len(rows),
        "hasPreviousPage": start > 0,
        "startCursor": _cursor(start) if chunk else None,
        "endCursor": _cursor(end) if chunk else None,
    }
    nodes = [node(row) for row in chunk]
    edges = [{"cursor": _cursor(start + i + 1), "node": n, **n.get("__edge__", {})} for i, n in enumerate(nodes)]
    return {"totalCount": len(rows), "pageInfo": info, "nodes": nodes, "edges": edges}


class GraphQLApi:
    """Validate and execute queries against the world, in exactly the shape they select."""

    def __init__(self, world: World, render: Renderer) -> None:
        self.world = world
        self.render = render
        self._sorted: dict[tuple[int, str], tuple[int, list[Any]]] = {}
        self.last_rate: RateInfo | None = None
        self.received: deque[tuple[str, dict[str, Any]]] = deque(maxlen=10_000)
        """Every query received over HTTP with its variables, oldest first (for tests that check them)."""

    def execute(
        self, query: str, variables: dict[str, Any] | None, name: str | None = None, rate: RateInfo | None = None
    ) -> JSON:
        """Check and run a query; return the response body (``data`` and/or ``errors``)."""
        checked = self.check(query, variables, name)
        return {"errors": checked.errors} if checked.errors else self.run(checked, variables, name, rate)

    @staticmethod
    def check(query: str, variables: dict[str, Any] | None, name: str | None = None) -> Checked:
        """Validate a query as GitHub does; ``errors`` is filled when it would be refused."""
        return check(github_schema(), query, variables or {}, name)

    def run(
        self, checked: Checked, variables: dict[str, Any] | None, name: str | None = None, rate: RateInfo | None = None
    ) -> JSON:
        """Execute a checked query against the world."""
        self.last_rate = rate or RateInfo(5000, 5000, 0, math.ceil(time.time()) + 3600)
        self.last_rate.cost, self.last_rate.nodes = checked.cost, checked.nodes
        result = execute(
            github_schema(),
            checked.document,
            root_value=self._root(),
            variable_values=variables or {},
            operation_name=name,
            field_resolver=_resolve,
        )
        body: JSON = {"data": result.data}
        if result.errors:
            body["errors"] = [self._error(error) for error in result.errors]
        return body

    @staticmethod
    def _error(error: CoreError) -> JSON:
        original = error.original_error
        kind = original.type if isinstance(original, GraphQLError) else None
        locations = [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]
        return github_error(error.message, kind, path=list(error.path or ()), locations=locations)

    # the world as GraphQL nodes --------------------------------------------------------------------------------
    def _root(self) -> Node:
        return {"repository": self._repository, "rateLimit": self._rate_limit}

    def _rate_limit(self, dryRun: bool = False) -> Node:
        rate = self.last_rate or RateInfo(5000, 5000, 0, math.ceil(time.time()) + 3600)
        return {
            "cost": rate.cost,
            "limit": rate.limit,
            "nodeCount": rate.nodes,
            "remaining": rate.remaining,
            "used": rate.used,
            "resetAt": iso(datetime.fromtimestamp(rate.reset, UTC)),
        }

    def _repository(self, owner: str, name: str, followRenames: bool = True) -> Node:
        full_name = f"{owner}/{name}"
        repo = self.world.find_repo(full_name, follow=followRenames)
        if repo is None:
            raise GraphQLError(f"Could not resolve to a Repository with the name '{full_name}'.", "NOT_FOUND")
        return {
            "id": f"R_{repo.id}",
            "databaseId": repo.id,
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "owner": lambda: self._actor(repo.owner),
            "pullRequest": lambda number: self._pull_request(repo, number),
            "pullRequests": lambda **args: self._pulls(repo, **args),
            "issues": lambda **args: self._issues(repo, **args),
            "stargazers": lambda **args: self._stargazers(repo, **args),
        }

    def _actor(self, login: str | None) -> Node | None:
        if login is None:
            return None
        user = self.world.users.get(login)
        if user is None or user.id == GHOST_ID:
            return {"__typename": "User", "login": GHOST_LOGIN, "databaseId": GHOST_ID, "id": "U_ghost"}
        kind = "Bot" if user.is_bot else user.type
        shown = login.removesuffix("[bot]") if kind == "Bot" else login
        return {
            "__typename": kind,
            "id": f"{kind[0]}_{user.id}",
            "login": shown,
            "databaseId": user.id,
            "url": f"{self.render.base}/{shown}",
        }

    def _ordered(self, repo: Repo, kind: str, build: Callable[[], list[Any]]) -> list[Any]:
        cached = self._sorted.get((repo.id, kind))
        if cached is None or cached[0] != repo.version:
            cached = (repo.version, build())
            self._sorted[(repo.id, kind)] = cached
        return cached[1]

    def _labels(self, item: Item, **args: Any) -> Node:
        return connection(item.labels, lambda name: {"name": name}, **args)

    def _review(self, review: Review) -> Node:
        return {
            "databaseId": review.id if review.id < 2**31 else None,
            "fullDatabaseId": str(review.id),
            "state": review.state,
            "submittedAt": iso(review.submitted_at),
            "author": lambda: self._actor(review.user),
        }

    def _pull(self, repo: Repo, item: Item) -> Node:
        return {
            "databaseId": item.pr_id if item.pr_id < 2**31 else None,
            "fullDatabaseId": str(item.pr_id),
            "number": item.number,
            "title": item.title,
            "url": f"{self.render.base}/{repo.full_name}/pull/{item.number}",
            "createdAt": iso(item.created_at),
            "updatedAt": iso(item.updated_at),
            "mergedAt": iso(item.merged_at),
            "author": lambda: self._actor(item.author),
            "mergedBy": lambda: self._actor(item.merged_by),
            "labels": lambda **args: self._labels(item, **args),
            "reviews": lambda **args: connection(item.reviews, self._review, **args),
        }

    def _pull_request(self, repo: Repo, number: int) -> Node:
        item = repo.items.get(int(number))
        if item is None or not item.is_pull:
            raise GraphQLError(f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND")
        return self._pull(repo, item)

    def _pulls(self, repo: Repo, states: list[str] | None = None, orderBy: Any = None, **args: Any) -> Node:
        wanted = {state.lower() for state in states or ("OPEN", "CLOSED", "MERGED")}

        def build() -> list[Item]:
            items = [item for item in repo.items.values() if item.is_pull]
            return sorted(items, key=lambda item: (item.created_at, item.number))

        rows = [item for item in self._ordered(repo, "pulls", build) if _pull_state(item) in wanted]
        rows = _order(rows, orderBy)
        return connection(rows, lambda item: self._pull(repo, item), **args)

    def _issues(self, repo: Repo, states: list[str] | None = None, orderBy: Any = None, **args: Any) -> Node:
        wanted = {state.lower() for state in states or ("OPEN", "CLOSED")}

        def build() -> list[Item]:
            items = [item for item in repo.items.values() if not item.is_pull]
            return sorted(items, key=lambda item: (item.created_at, item.number))

        rows = [item for item in self._ordered(repo, "issues", build) if item.state in wanted]
        return connection(_order(rows, orderBy), lambda item: self._issue(repo, item), **args)

    def _issue(self, repo: Repo, item: Item) -> Node:
        closers = [event.actor for event in item.events if event.event == "closed"]
        closed = [{"__typename": "ClosedEvent", "actor": self._actor(closers[-1])}] if closers else []
        return {
            "databaseId": item.id,
            "fullDatabaseId": str(item.id),
            "number": item.number,
            "title": item.title,
            "url": f"{self.render.base}/{repo.full_name}/issues/{item.number}",
            "createdAt": iso(item.created_at),
            "updatedAt": iso(item.updated_at),
            "closedAt": iso(item.closed_at),
            "stateReason": item.state_reason.upper() if item.state_reason else None,
            "author": lambda: self._actor(item.author),
            "labels": lambda **args: self._labels(item, **args),
            "timelineItems": lambda **args: connection(closed, lambda node: node, **_drop(args, "itemTypes")),
        }

    def _stargazers(self, repo: Repo, orderBy: Any = None, **args: Any) -> Node:
        rows = self._ordered(repo, "stars", lambda: sorted(repo.stars.items(), key=lambda pair: (pair[1], pair[0])))
        if orderBy and orderBy.get("direction") == "DESC":
            rows = rows[::-1]

        def node(pair: tuple[str, datetime]) -> Node:
            actor = self._actor(pair[0]) or {}
            return {**actor, "__edge__": {"starredAt": iso(pair[1])}}

        return connection(rows, node, **args)


def _pull_state(item: Item) -> str:
    return "merged" if item.merged_at is not None else item.state


def _order(rows: list[Item], order: Mapping[str, Any] | None) -> list[Item]:
    if not order:
        return rows
    if order.get("field") == "UPDATED_AT":
        rows = sorted(rows, key=lambda item: (item.updated_at, item.number))
    return rows[::-1] if order.get("direction") == "DESC" else rows


def _drop(args: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in args.items() if key not in names}
