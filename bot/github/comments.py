"""Comments on issues and pull requests, written through the one GitHub worker (create, edit, list).

Creating content is what GitHub's secondary rate limits watch most closely; a refusal comes back as the worker's
typed :class:`RateLimited` (or :class:`GitHubUnavailable` on 5xx), and the caller decides when to try again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import Github

from bot.github.client import GitHubWorker
from bot.github.retry import lower
from bot.github.types import JsonResponse

# GitHub refuses a comment body longer than this (characters).
BODY_LIMIT = 65536


@dataclass(frozen=True)
class Comment:
    """A comment as GitHub shows it."""

    id: int
    body: str
    author: str
    url: str


def _comment(data: Mapping[str, Any]) -> Comment:
    user = data.get("user") or {}
    return Comment(int(data["id"]), str(data.get("body") or ""), str(user.get("login") or ""), str(data["html_url"]))


def _repo_path(repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


class IssueComments:
    """Write and read the bot's comments on issues and pull requests."""

    def __init__(self, worker: GitHubWorker) -> None:
        self._worker = worker

    def _send(self, gh: Github, method: str, url: str, body: dict[str, Any] | None = None) -> JsonResponse:
        """Send one write on the worker thread; errors come back typed, as for reads."""
        worker = self._worker
        status, raw_headers, text = gh.requester.requestJson(method, url, input=body)
        headers = lower(raw_headers)
        worker._note(headers, status)
        data = json.loads(text) if text else None
        if status in (403, 429) and (
            headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers or "rate limit" in str(data).lower()
        ):
            raise worker._rate_limited(status, headers, data, headers.get("x-ratelimit-resource", "core"))
        if status >= 400:
            raise worker._translate(status, data)
        return JsonResponse(status, data, headers.get("etag"), None)

    async def create(self, repo: str, number: int, body: str) -> Comment:
        """Comment on an issue or pull request; return the comment."""
        if len(body) > BODY_LIMIT:
            raise ValueError(f"a comment body may be at most {BODY_LIMIT} characters")
        url = f"{_repo_path(repo)}/issues/{int(number)}/comments"
        answer = await self._worker.call(lambda gh: self._send(gh, "POST", url, {"body": body}))
        return _comment(answer.data)

    async def edit(self, repo: str, comment_id: int, body: str) -> Comment:
        """Replace a comment's text."""
        if len(body) > BODY_LIMIT:
            raise ValueError(f"a comment body may be at most {BODY_LIMIT} characters")
        url = f"{_repo_path(repo)}/issues/comments/{int(comment_id)}"
        answer = await self._worker.call(lambda gh: self._send(gh, "PATCH", url, {"body": body}))
        return _comment(answer.data)

    async def find(self, repo: str, number: int, marker: str, max_pages: int = 10) -> Comment | None:
        """Look for a comment on an issue or pull request whose text holds ``marker``."""
        url = f"{_repo_path(repo)}/issues/{int(number)}/comments"
        for item in await self._worker.get_all(url, max_pages=max_pages):
            if isinstance(item, Mapping) and marker in str(item.get("body") or ""):
                return _comment(item)
        return None
