"""Answer the bot's named GraphQL operations (bot/github/graphql.py); not a general GraphQL engine."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from bot.github import graphql as ops
from bot.sandbox.github.render import JSON, Renderer, iso
from bot.sandbox.github.state import Item, Repo, Review, World

_OPERATION = re.compile(r"\b(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_name(query: str, given: str | None = None) -> str | None:
    """Return the operation's name: ``operationName`` when given, else the first named operation."""
    if given:
        return given
    match = _OPERATION.search(query)
    return match.group(1) if match else None


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS") from None


def _first(query: str, connection: str) -> int:
    match = re.search(connection + r"\([^)]*first:\s*(\d+)", query)
    size = int(match.group(1)) if match else 100
    if not 1 <= size <= 100:
        raise GraphQLError(f"Requesting {size} records on the `{connection}` connection exceeds the limit of 100.")
    return size


class GraphQLError(Exception):
    """An error GitHub reports in the ``errors`` list (HTTP 200)."""

    def __init__(self, message: str, type: str | None = None, path: list[str] | None = None) -> None:
        super().__init__(message)
        self.error: JSON = {"message": message, "locations": [{"line": 1, "column": 1}]}
        if type is not None:
            self.error["type"] = type
        if path is not None:
            self.error["path"] = path


class GraphQLApi:
    """Resolve the backfill operations against the world, in exactly the shape their queries select."""

    def __init__(self, world: World, render: Renderer) -> None:
        self.world = world
        self.render = render
        self._sorted: dict[tuple[str, str], tuple[int, list[Any]]] = {}
        self._handlers: dict[str, Callable[[str, dict[str, Any]], JSON]] = {
            ops.OP_BACKFILL_PULLS: self._pulls,
            ops.OP_BACKFILL_REVIEWS: self._reviews,
            ops.OP_BACKFILL_ISSUES: self._issues,
            ops.OP_BACKFILL_STARS: self._stars,
        }

    def execute(self, query: str, variables: dict[str, Any] | None, name: str | None = None) -> JSON:
        """Return the response body ``{"data": ...}`` or ``{"errors": [...]}``."""
        operation = operation_name(query, name)
        handler = self._handlers.get(operation or "")
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            message = f"The sandbox answers only the named operations {known}; got {operation or 'an anonymous one'}."
            return {"errors": [{"message": message, "extensions": {"code": "undefinedOperation"}}]}
        try:
            return {"data": handler(query, variables or {})}
        except GraphQLError as exc:
            data = {"repository": None} if exc.error.get("type") == "NOT_FOUND" else None
            return {"data": data, "errors": [exc.error]} if data else {"errors": [exc.error]}

    def _repo(self, variables: dict[str, Any]) -> Repo:
        full_name = f"{variables.get('owner')}/{variables.get('name')}"
        try:
            return self.world.repo(full_name)
        except KeyError:
            message = f"Could not resolve to a Repository with the name '{full_name}'."
            raise GraphQLError(message, "NOT_FOUND", ["repository"]) from None

    def _actor(self, login: str | None) -> JSON | None:
        if login is None:
            return None
        user = self.world.users[login]
        if user.is_bot:
            return {"__typename": "Bot", "login": login.removesuffix("[bot]"), "databaseId": user.id}
        if user.type == "Organization":
            return {"__typename": "Organization", "login": login}
        return {"__typename": "User", "login": login, "databaseId": user.id}

    def _ordered(self, repo: Repo, kind: str, build: Callable[[], list[Any]]) -> list[Any]:
        cached = self._sorted.get((repo.full_name, kind))
        if cached is None or cached[0] != repo.version:
            cached = (repo.version, build())
            self._sorted[(repo.full_name, kind)] = cached
        return cached[1]

    @staticmethod
    def _page(rows: list[Any], cursor: str | None, size: int) -> tuple[list[Any], JSON]:
        start = _offset(cursor)
        chunk = rows[start : start + size]
        end = start + len(chunk)
        info = {"hasNextPage": end < len(rows), "endCursor": _cursor(end) if chunk else None}
        return chunk, info

    def _review_node(self, review: Review) -> JSON:
        return {
            "databaseId": review.id,
            "state": review.state,
            "submittedAt": iso(review.submitted_at),
            "author": self._actor(review.user),
        }

    def _labels(self, item: Item) -> JSON:
        return {"nodes": [{"name": name} for name in item.labels[:20]]}

    def _pulls(self, query: str, variables: dict[str, Any]) -> JSON:
        repo = self._repo(variables)

        def merged() -> list[Item]:
            items = [item for item in repo.items.values() if item.is_pull and item.merged_at is not None]
            return sorted(items, key=lambda item: (item.created_at, item.number))

        rows = self._ordered(repo, "merged-pulls", merged)
        chunk, info = self._page(rows, variables.get("cursor"), _first(query, "pullRequests"))
        base = self.render.base
        nodes = [
            {
                "databaseId": item.pr_id,
                "number": item.number,
                "title": item.title,
                "url": f"{base}/{repo.full_name}/pull/{item.number}",
                "createdAt": iso(item.created_at),
                "mergedAt": iso(item.merged_at),
                "author": self._actor(item.author),
                "mergedBy": self._actor(item.merged_by),
                "labels": self._labels(item),
                "reviews": {
                    "totalCount": len(item.reviews),
                    "nodes": [self._review_node(review) for review in item.reviews[:100]],
                },
            }
            for item in chunk
        ]
        connection = {"totalCount": len(rows), "pageInfo": info, "nodes": nodes}
        return {"repository": {"pullRequests": connection}}

    def _reviews(self, query: str, variables: dict[str, Any]) -> JSON:
        repo = self._repo(variables)
        item = repo.items.get(int(variables.get("number") or 0))
        if item is None or not item.is_pull:
            number = variables.get("number")
            message = f"Could not resolve to a PullRequest with the number of {number}."
            raise GraphQLError(message, "NOT_FOUND", ["repository", "pullRequest"])
        chunk, info = self._page(item.reviews, variables.get("cursor"), _first(query, "reviews"))
        connection = {
            "totalCount": len(item.reviews),
            "pageInfo": info,
            "nodes": [self._review_node(review) for review in chunk],
        }
        return {"repository": {"pullRequest": {"reviews": connection}}}

    def _issues(self, query: str, variables: dict[str, Any]) -> JSON:
        repo = self._repo(variables)

        def closed() -> list[Item]:
            items = [item for item in repo.items.values() if not item.is_pull and item.state == "closed"]
            return sorted(items, key=lambda item: (item.created_at, item.number))

        rows = self._ordered(repo, "closed-issues", closed)
        chunk, info = self._page(rows, variables.get("cursor"), _first(query, "issues"))
        nodes = []
        for item in chunk:
            closers = [event.actor for event in item.events if event.event == "closed"]
            nodes.append(
                {
                    "databaseId": item.id,
                    "number": item.number,
                    "title": item.title,
                    "url": f"{self.render.base}/{repo.full_name}/issues/{item.number}",
                    "createdAt": iso(item.created_at),
                    "closedAt": iso(item.closed_at),
                    "stateReason": item.state_reason.upper() if item.state_reason else None,
                    "author": self._actor(item.author),
                    "labels": self._labels(item),
                    "timelineItems": {"nodes": [{"actor": self._actor(closers[-1])}] if closers else []},
                }
            )
        connection = {"totalCount": len(rows), "pageInfo": info, "nodes": nodes}
        return {"repository": {"issues": connection}}

    def _stars(self, query: str, variables: dict[str, Any]) -> JSON:
        repo = self._repo(variables)
        rows = self._ordered(repo, "stars", lambda: sorted(repo.stars.items(), key=lambda pair: pair[1]))
        chunk, info = self._page(rows, variables.get("cursor"), _first(query, "stargazers"))
        edges = [
            {"starredAt": iso(when), "node": {"login": login, "databaseId": self.world.users[login].id}}
            for login, when in chunk
        ]
        connection = {"totalCount": len(rows), "pageInfo": info, "edges": edges}
        return {"repository": {"stargazers": connection}}
