"""The GitHub emulator's REST side as strict as GitHub: redirects, pagination caps, renamed and deleted accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sandbox.github_emulator import GitHubEmulator

REPO = "acme/widgets"


@pytest.fixture
async def emu() -> AsyncIterator[GitHubEmulator]:
    github = GitHubEmulator(clock=ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)))
    await github.start()
    await github.create_repo(REPO)
    yield github
    await github.stop()


async def get(emu: GitHubEmulator, path: str, **params: Any) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"token {emu.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(emu.url + path, params=params, headers=headers, allow_redirects=False) as resp,
    ):
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


async def test_a_renamed_repository_answers_301_to_the_new_path_keeping_the_query(emu: GitHubEmulator) -> None:
    before = (await get(emu, f"/repos/{REPO}"))[1]["id"]
    await emu.rename_repo(REPO, "acme/gadgets")
    status, body, headers = await get(emu, "/repos/Acme/Widgets/pulls", state="all", sort="updated")
    assert status == 301 and body["message"] == "Moved Permanently"
    assert headers["Location"] == f"{emu.url}/repos/acme/gadgets/pulls?state=all&sort=updated"
    status, body, _ = await get(emu, "/repos/ACME/GADGETS")
    assert status == 200 and body["id"] == before and body["full_name"] == "acme/gadgets"
    await emu.rename_repo("acme/gadgets", "neworg/gadgets")
    assert (await get(emu, f"/repos/{REPO}"))[2]["Location"].endswith("/repos/neworg/gadgets")
    assert emu.gate.rejections.list() == []


async def test_stargazer_pages_beyond_400_answer_422_and_are_listed_as_refusals(emu: GitHubEmulator) -> None:
    await emu.star_many(REPO, 401)
    status, body, _ = await get(emu, f"/repos/{REPO}/stargazers", per_page=1, page=401)
    assert status == 422 and "pagination is limited" in body["message"]
    assert 'page=400>; rel="last"' in (await get(emu, f"/repos/{REPO}/stargazers", per_page=1))[2]["Link"]
    (refused,) = emu.gate.rejections.list()
    assert (refused["status"], refused["route"]) == (422, "/repos/{owner}/{repo}/stargazers")


async def test_renamed_accounts_keep_their_id_and_deleted_ones_become_ghost(emu: GitHubEmulator) -> None:
    user = await emu.create_user("olive")
    number = (await emu.open_issue(REPO, "olive", "A bug"))["number"]
    await emu.rename_user("olive", "olivia")
    status, body, _ = await get(emu, "/users/olivia")
    assert status == 200 and body["id"] == user["id"]
    assert (await get(emu, f"/repos/{REPO}/issues/{number}"))[1]["user"]["login"] == "olivia"
    await emu.delete_user("olivia")
    author = (await get(emu, f"/repos/{REPO}/issues/{number}"))[1]["user"]
    assert (author["login"], author["id"]) == ("ghost", 10137)
    assert (await get(emu, "/users/olivia"))[0] == 404
