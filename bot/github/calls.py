"""What Vestry asks GitHub, on top of the worker's primitives: accounts and gists for linking, open pull requests
for review nudges, good first issues for the digest, a repository's name and stars.

:class:`GitHubCalls` is mixed into ``bot.github.client.GitHubWorker``, which supplies the primitives (``get_json``,
``get_all``, ``call``, ``request_sync``): retries, rate limits and conditional requests stay there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from github import Github

from bot.github.facts import actor, pull_fact
from bot.github.types import GitHubUser, JsonResponse, NotFound, OpenPull, user_from_json

T = TypeVar("T")


class Primitives(Protocol):
    """The worker's primitives the calls are made of."""

    async def get_json(
        self, url: str, *, params: Mapping[str, Any] | None = None, etag: str | None = None, accept: str | None = None
    ) -> JsonResponse:
        """GET one resource or page."""

    async def get_all(
        self, url: str, *, params: Mapping[str, Any] | None = None, max_pages: int = 10, accept: str | None = None
    ) -> list[Any]:
        """GET every page of a list."""

    async def call(self, fn: Callable[[Github], T], resource: str = "core") -> T:
        """Run ``fn`` on the worker's thread, with its retries and rate limits."""

    def request_sync(
        self,
        gh: Github,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        etag: str | None = None,
        accept: str | None = None,
    ) -> JsonResponse:
        """GET on the worker's thread."""


class GitHubCalls:
    """The calls, as methods of the worker."""

    async def get_user(self: Primitives, login: str) -> GitHubUser | None:
        """Return the account ``login`` with its bio, or None if there is none."""
        try:
            response = await self.get_json(f"/users/{login}")
        except NotFound:
            return None
        return user_from_json(response.data)

    async def get_user_gists_text(self: Primitives, login: str, limit: int = 10) -> list[str]:
        """Return the text of every file in the user's most recent public gists."""

        def fetch(gh: Github) -> list[str]:
            listing = self.request_sync(gh, f"/users/{login}/gists", params={"per_page": limit}).data or []
            texts: list[str] = []
            for gist in listing[:limit]:
                full = self.request_sync(gh, f"/gists/{gist['id']}").data or {}
                texts += _gist_texts(full)
            return texts

        try:
            return await self.call(fetch)
        except NotFound:
            return []

    async def get_gist_text(self: Primitives, gist_id: str) -> str | None:
        """Return the text of a gist's files joined by newlines, or None if there is no such gist."""
        try:
            response = await self.get_json(f"/gists/{gist_id}")
        except NotFound:
            return None
        return "\n".join(_gist_texts(response.data or {}))

    async def list_open_pulls(self: Primitives, repo: str) -> list[OpenPull]:
        """Return every open pull request of ``repo`` with its requested reviewers."""
        items = await self.get_all(f"/repos/{repo}/pulls", params={"state": "open"}, max_pages=50)
        return [
            OpenPull(
                pull_fact(repo, item),
                tuple(a for a in (actor(u) for u in item.get("requested_reviewers") or ()) if a is not None),
                tuple(str(t.get("slug") or t.get("name")) for t in item.get("requested_teams") or ()),
            )
            for item in items
        ]

    async def list_good_first_issues(
        self: Primitives, repo: str, labels: list[str], limit: int = 5
    ) -> list[dict[str, Any]]:
        """Return up to ``limit`` open issues carrying any of ``labels``, newest first."""
        found: dict[int, dict[str, Any]] = {}
        for label in labels:
            response = await self.get_json(
                f"/repos/{repo}/issues",
                params={"state": "open", "labels": label, "sort": "created", "direction": "desc", "per_page": limit},
            )
            for item in response.data or []:
                if "pull_request" not in item:
                    found[int(item["number"])] = {
                        "number": int(item["number"]),
                        "title": str(item.get("title") or ""),
                        "url": str(item.get("html_url") or ""),
                        "labels": [str(lab.get("name")) for lab in item.get("labels") or ()],
                        "created_at": item.get("created_at") or "",
                    }
        ordered = sorted(found.values(), key=lambda issue: (issue["created_at"], issue["number"]), reverse=True)
        return [{key: issue[key] for key in ("number", "title", "url", "labels")} for issue in ordered[:limit]]

    async def repository(self: Primitives, repo: str) -> dict[str, Any]:
        """Return ``GET /repos/{owner}/{name}`` (a renamed or transferred repository's new one, as redirected)."""
        response = await self.get_json(f"/repos/{repo}")
        return dict(response.data or {})

    async def stargazers_count(self: Primitives, repo: str) -> int:
        """Return how many people starred ``repo``."""
        response = await self.get_json(f"/repos/{repo}")
        return int((response.data or {}).get("stargazers_count") or 0)


def _gist_texts(gist: Mapping[str, Any]) -> list[str]:
    return [str(f.get("content") or "") for f in (gist.get("files") or {}).values() if isinstance(f, Mapping)]
