"""The GitHub emulator's REST responses parse with GitHub's own schema (githubkit's generated models)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import TypeAdapter

from bot.clock import ManualClock
from bot.sandbox.github_emulator import GitHubEmulator

models = pytest.importorskip("githubkit_schemas.latest.models", reason="githubkit is a dev dependency")
REPO = "acme/widget"


@pytest.fixture
async def world() -> AsyncIterator[tuple[GitHubEmulator, aiohttp.ClientSession]]:
    github = GitHubEmulator(clock=ManualClock())
    await github.start()
    await github.create_repo(REPO, deliver=False)
    for login in ("alice", "bob", "maintainer"):
        await github.create_user(login, deliver=False)
    first = await github.open_pull(REPO, "alice", "Fix the docs", labels=["docs"], deliver=False)
    await github.request_reviews(REPO, first["number"], reviewers=["bob"], deliver=False)
    await github.submit_review(REPO, first["number"], "bob", "APPROVED", deliver=False)
    await github.merge_pull(REPO, first["number"], "maintainer", deliver=False)
    second = await github.open_pull(REPO, "bob", "Add a test", deliver=False)
    await github.request_reviews(REPO, second["number"], reviewers=["alice"], deliver=False)
    issue = await github.open_issue(REPO, "bob", "It crashes", labels=["good first issue"], deliver=False)
    await github.close_issue(REPO, issue["number"], "maintainer", deliver=False)
    await github.star(REPO, "alice", deliver=False)
    headers = {"Authorization": f"token {github.token}", "Accept": "application/vnd.github+json"}
    async with aiohttp.ClientSession(base_url=github.url, headers=headers) as http:
        yield github, http
    await github.stop()


async def fetch(http: aiohttp.ClientSession, path: str, **headers: str) -> Any:
    async with http.get(path, headers=headers) as response:
        assert response.status == 200, (path, response.status)
        return await response.json()


@pytest.mark.parametrize(
    ("path", "model", "many"),
    [
        (f"/repos/{REPO}", "FullRepository", False),
        (f"/repos/{REPO}/pulls?state=all", "PullRequestSimple", True),
        (f"/repos/{REPO}/pulls/1", "PullRequest", False),
        (f"/repos/{REPO}/pulls/1/reviews", "PullRequestReview", True),
        (f"/repos/{REPO}/pulls/2/requested_reviewers", "PullRequestReviewRequest", False),
        (f"/repos/{REPO}/issues?state=all", "Issue", True),
        (f"/repos/{REPO}/issues/3", "Issue", False),
        ("/users/alice", "PublicUser", False),
        ("/search/issues?q=is:pr+is:merged+repo:acme/widget", "SearchIssuesGetResponse200", False),
    ],
)
async def test_rest_response_parses_with_githubs_schema(world: Any, path: str, model: str, many: bool) -> None:
    _, http = world
    data = await fetch(http, path)
    schema = getattr(models, model)
    parsed = TypeAdapter(list[schema] if many else schema).validate_python(data)  # type: ignore[valid-type]
    if many:
        assert parsed, f"{path} returned no items to check"


async def test_stargazers_with_timestamps_parse_with_githubs_schema(world: Any) -> None:
    _, http = world
    data = await fetch(http, f"/repos/{REPO}/stargazers", Accept="application/vnd.github.star+json")
    (star,) = TypeAdapter(list[models.Stargazer]).validate_python(data)
    assert star.starred_at is not None
