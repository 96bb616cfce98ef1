"""Issue comments in the GitHub emulator, as strict as GitHub: auth, body, size, 404s, authorship, content limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sandbox.github.comments import CONTENT_LIMITS
from bot.sandbox.github_emulator import GitHubEmulator

REPO = "acme/widgets"


@pytest.fixture
async def emu() -> AsyncIterator[GitHubEmulator]:
    github = GitHubEmulator(clock=ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)), rate_limits="fast")
    await github.start()
    await github.create_repo(REPO)
    yield github
    await github.stop()


async def call(
    emu: GitHubEmulator, method: str, path: str, body: Any = None, token: str | None = "default"
) -> tuple[int, Any, dict[str, str]]:
    headers = {} if token is None else {"Authorization": f"token {emu.token if token == 'default' else token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emu.url + path, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


async def pull(emu: GitHubEmulator) -> int:
    await emu.create_user("ada")
    return int((await emu.open_pull(REPO, "ada", "A change"))["number"])


async def test_a_comment_is_created_listed_and_edited_by_its_author(emu: GitHubEmulator) -> None:
    number = await pull(emu)
    status, made, headers = await call(emu, "POST", f"/repos/{REPO}/issues/{number}/comments", {"body": "Hello"})
    assert status == 201 and made["body"] == "Hello" and made["user"]["login"] == "vestry-bot"
    assert headers["Location"].endswith(f"/issues/comments/{made['id']}")
    assert made["html_url"].endswith(f"/{REPO}/pull/{number}#issuecomment-{made['id']}")
    status, listed, _ = await call(emu, "GET", f"/repos/{REPO}/issues/{number}/comments")
    assert status == 200 and [c["id"] for c in listed] == [made["id"]]
    status, edited, _ = await call(emu, "PATCH", f"/repos/{REPO}/issues/comments/{made['id']}", {"body": "Hi ✓"})
    assert status == 200 and edited["body"] == "Hi ✓"
    assert [c["body"] for c in emu.bot_comments(REPO, number)] == ["Hi ✓"]
    assert emu.gate.rejections.list() == []


async def test_comments_are_refused_as_github_refuses_them(emu: GitHubEmulator) -> None:
    number = await pull(emu)
    path = f"/repos/{REPO}/issues/{number}/comments"
    assert (await call(emu, "POST", path, {"body": "x"}, token=None))[0] == 401
    status, body, _ = await call(emu, "POST", path, {"body": "  "})
    assert status == 422 and body["errors"][0]["code"] == "missing_field"
    assert (await call(emu, "POST", path, {}))[0] == 422
    status, body, _ = await call(emu, "POST", path, {"body": "x" * 65537})
    assert status == 422 and "too long" in body["errors"][0]["message"]
    assert (await call(emu, "POST", path, {"body": "x" * 65536}))[0] == 201
    assert (await call(emu, "POST", f"/repos/{REPO}/issues/999/comments", {"body": "x"}))[0] == 404
    assert (await call(emu, "PATCH", f"/repos/{REPO}/issues/comments/12345", {"body": "x"}))[0] == 404
    refused = {(r["method"], r["status"]) for r in emu.gate.rejections.list()}
    assert refused == {("POST", 401), ("POST", 422)}


async def test_only_the_author_may_edit_a_comment(emu: GitHubEmulator) -> None:
    number = await pull(emu)
    emu.world.tokens["ada-token"] = "ada"
    made = (await call(emu, "POST", f"/repos/{REPO}/issues/{number}/comments", {"body": "Mine"}))[1]
    status, _, _ = await call(emu, "PATCH", f"/repos/{REPO}/issues/comments/{made['id']}", {"body": "x"}, "ada-token")
    assert status == 403


async def test_content_creation_past_the_limit_answers_a_secondary_rate_limit(emu: GitHubEmulator) -> None:
    number = await pull(emu)
    per_minute = CONTENT_LIMITS[0][0]
    answers = [
        await call(emu, "POST", f"/repos/{REPO}/issues/{number}/comments", {"body": f"n{i}"})
        for i in range(per_minute + 1)
    ]
    assert [status for status, _, _ in answers[:per_minute]] == [201] * per_minute
    status, body, headers = answers[-1]
    assert status == 403 and "secondary rate limit" in body["message"] and int(headers["Retry-After"]) >= 1
    assert len(emu.bot_comments(REPO, number)) == per_minute
