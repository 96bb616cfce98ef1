"""Issue and pull-request comments in the GitHub emulator: list, create and edit, as strictly as GitHub.

Creating and editing are content-generating requests: besides the primary limit, GitHub allows no more than 80
of them a minute and 500 an hour, and answers more with a secondary rate limit (403 with ``retry-after``).
A body is required, at most 65,536 characters; an unknown issue or comment answers 404; only the comment's
author may edit it.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.sandbox.github.render import JSON, Renderer, iso
from bot.sandbox.github.server import (
    LOGIN,
    SECONDARY_MESSAGE,
    Gate,
    Moved,
    NotFound,
    error_reply,
    json_reply,
    paginate,
)
from bot.sandbox.github.state import IssueComment, Repo, World

BODY_LIMIT = 65536
CONTENT_LIMITS = ((80, 60), (500, 3600))  # content-generating requests per window (seconds)
DOCS = "https://docs.github.com/rest/issues/comments"


class ContentLimit:
    """GitHub's secondary limits on content creation: sliding windows of requests per account."""

    def __init__(self, scale: float) -> None:
        self.windows = [(limit, max(1.0, period * scale)) for limit, period in CONTENT_LIMITS]
        self._seen: dict[str, list[float]] = {}

    def retry_after(self, login: str) -> float | None:
        """Note one request by ``login``; return how long to wait when it is over a limit (it is not counted)."""
        now = time.monotonic()
        longest = max(period for _, period in self.windows)
        seen = [moment for moment in self._seen.get(login, []) if moment > now - longest]
        for limit, period in self.windows:
            recent = [moment for moment in seen if moment > now - period]
            if len(recent) >= limit:
                self._seen[login] = seen
                return recent[0] + period - now
        seen.append(now)
        self._seen[login] = seen
        return None


def render_comment(render: Renderer, repo: Repo, comment: IssueComment) -> JSON:
    """Render a comment as GitHub's REST API does."""
    api = f"{render.base}/repos/{repo.full_name}"
    item = repo.items.get(comment.number)
    kind = "pull" if item is not None and item.is_pull else "issues"
    return {
        "id": comment.id,
        "node_id": f"IC_{comment.id}",
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"{render.base}/{repo.full_name}/{kind}/{comment.number}#issuecomment-{comment.id}",
        "issue_url": f"{api}/issues/{comment.number}",
        "body": comment.body,
        "user": render.user(comment.user),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "author_association": render.association(repo, comment.user, kind == "pull"),
        "performed_via_github_app": None,
        "reactions": {"url": f"{api}/issues/comments/{comment.id}/reactions", "total_count": 0},
    }


class CommentsApi:
    """The comment routes, answering from the emulator's world."""

    def __init__(self, world: World, render: Renderer, gate: Gate, clock: Any) -> None:
        self.world = world
        self.render = render
        self.gate = gate
        self.clock = clock
        self.limits = ContentLimit(gate.scale)

    def routes(self) -> list[web.RouteDef]:
        """Return the comment routes."""
        repo = "/repos/{owner}/{repo}"
        return [
            web.get(rf"{repo}/issues/{{number:\d+}}/comments", self.list_comments),
            web.post(rf"{repo}/issues/{{number:\d+}}/comments", self.create_comment),
            web.patch(rf"{repo}/issues/comments/{{comment_id:\d+}}", self.edit_comment),
        ]

    def _repo(self, request: web.Request) -> Repo:
        full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
        repo = self.world.find_repo(full_name, follow=False)
        if repo is None:
            moved = self.world.find_repo(full_name)
            if moved is not None:
                raise Moved(full_name, moved.full_name)
            raise NotFound
        return repo

    def on(self, repo: Repo, number: int) -> list[IssueComment]:
        """The comments on one issue or pull request, oldest first."""
        found = [c for c in self.world.comments.values() if c.repo_id == repo.id and c.number == number]
        return sorted(found, key=lambda c: c.id)

    async def list_comments(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues/{number}/comments, oldest first."""
        repo = self._repo(request)
        number = int(request.match_info["number"])
        if number not in repo.items:
            raise NotFound
        chunk, link = paginate(self.render.base, request, self.on(repo, number))
        return json_reply([render_comment(self.render, repo, c) for c in chunk], link=link)

    async def _body(self, request: web.Request) -> str | web.Response:
        """Read the ``body`` field, or the refusal GitHub gives."""
        try:
            data = json.loads(await request.read() or b"null")
        except ValueError:
            return error_reply(400, "Problems parsing JSON", DOCS)
        if not isinstance(data, dict):
            return error_reply(400, "Problems parsing JSON", DOCS)
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            return _invalid("missing_field", "body", "")
        if len(body) > BODY_LIMIT:
            return _invalid("custom", "body", f"body is too long (maximum is {BODY_LIMIT} characters)")
        return body

    def _limited(self, request: web.Request) -> web.Response | None:
        wait = self.limits.retry_after(request[LOGIN])
        if wait is None:
            return None
        response = error_reply(403, SECONDARY_MESSAGE.format(request_id=uuid.uuid4().hex[:16].upper()))
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    async def create_comment(self, request: web.Request) -> web.Response:
        """POST /repos/{owner}/{repo}/issues/{number}/comments."""
        repo = self._repo(request)
        number = int(request.match_info["number"])
        if number not in repo.items:
            raise NotFound
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        limited = self._limited(request)
        if limited is not None:
            return limited
        now: datetime = self.clock.now().replace(microsecond=0)
        comment = IssueComment(self.world.next_id("comment"), repo.id, number, request[LOGIN], body, now, now)
        self.world.comments[comment.id] = comment
        response = json_reply(render_comment(self.render, repo, comment), status=201)
        response.headers["Location"] = f"{self.render.base}/repos/{repo.full_name}/issues/comments/{comment.id}"
        return response

    async def edit_comment(self, request: web.Request) -> web.Response:
        """PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}; only its author may."""
        repo = self._repo(request)
        comment = self.world.comments.get(int(request.match_info["comment_id"]))
        if comment is None or comment.repo_id != repo.id:
            raise NotFound
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if comment.user != request[LOGIN]:
            return error_reply(403, "You must be the author of this comment or have write access to edit it.", DOCS)
        limited = self._limited(request)
        if limited is not None:
            return limited
        comment.body = body
        comment.updated_at = self.clock.now().replace(microsecond=0)
        return json_reply(render_comment(self.render, repo, comment))


def _invalid(code: str, field: str, message: str) -> web.Response:
    error: dict[str, Any] = {"resource": "IssueComment", "code": code, "field": field}
    if message:
        error["message"] = message
    body = {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS, "status": "422"}
    return json_reply(body, status=422)
