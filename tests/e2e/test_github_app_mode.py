"""The bot as a GitHub App: a representative subset of the e2e suite in token and App mode, and what only Apps do.

The subset (imported below and run here under both modes, through this module's ``sandbox`` and
``sandbox_factory`` fixtures): first-PR kudos, history never announced, bots never announced, the ladder
climb, backfill, device-flow linking, gist-proof linking, review nudges, webhook and poll ingestion, status.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.sandbox.client import ControlClient, running_sandbox
from bot.sandbox.github.apps import new_key_pair
from bot.sandbox.github_emulator import GitHubEmulator
from tests.e2e.test_ingestion import (
    test_changes_reach_the_ledger_by_polling_and_an_idle_poll_costs_only_304s as test_poll_ingestion,
)
from tests.e2e.test_ingestion import test_changes_reach_the_ledger_by_webhook as test_webhook_ingestion
from tests.e2e.test_kudos import (
    test_a_bots_pull_request_is_never_announced as test_bot_pull_not_announced,
)
from tests.e2e.test_kudos import (
    test_a_newcomers_first_merge_is_announced_once_and_their_second_is_not as test_first_merge_announced,
)
from tests.e2e.test_kudos import test_history_loaded_from_github_is_never_announced as test_history_not_announced
from tests.e2e.test_ladder import (
    test_backfilled_history_places_members_silently_with_one_summary as test_backfill_places_members,
)
from tests.e2e.test_ladder import (
    test_linking_then_merges_climb_the_ladder_with_one_announcement_each as test_ladder_climb,
)
from tests.e2e.test_linking import (
    test_device_flow_approved_links_the_member_and_edits_the_code_message as test_device_flow_link,
)
from tests.e2e.test_linking import test_gist_proof_not_found_then_found_links_the_member as test_gist_link
from tests.e2e.test_reviews import (
    test_overdue_request_is_nudged_once_and_filtered_pulls_are_not as test_review_nudge,
)
from tests.e2e.test_smoke import test_owner_sees_vestry_status as test_status

SUBSET = [
    test_bot_pull_not_announced,
    test_backfill_places_members,
    test_device_flow_link,
    test_first_merge_announced,
    test_gist_link,
    test_history_not_announced,
    test_ladder_climb,
    test_poll_ingestion,
    test_review_nudge,
    test_status,
    test_webhook_ingestion,
]
MODES = ["token", "app"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Run each test of this module once with a token and once as a GitHub App."""
    return str(request.param)


@pytest.fixture
async def sandbox(mode: str) -> AsyncIterator[Any]:
    """The sandbox of the imported tests, in this module's mode."""
    async with running_sandbox(device_interval=1, github_app=mode == "app") as client:
        yield client


@pytest.fixture
def sandbox_factory(mode: str) -> Callable[..., Any]:
    """``sandbox_factory`` of the imported tests, in this module's mode."""
    return functools.partial(running_sandbox, github_app=mode == "app")


async def _status_lines(client: Any) -> str:
    result = await client.command("owner", "vestry status")
    embed = result["responses"][0]["embeds"][0]
    return str(embed["description"]) + " ".join(str(f["value"]) for f in embed["fields"])


async def _followed(client: Any) -> list[str]:
    return list(client.sandbox.services.repos.names())


async def test_the_app_follows_its_installation_and_install_webhooks_change_what_is_followed() -> None:
    async with running_sandbox(github_app=True) as client:
        assert await _followed(client) == ["sandbox/project"]
        await client.post("/github/repos", {"full_name": "sandbox/docs"})
        await client.post("/github/app/install", {"repos": ["sandbox/docs"]})
        await client.settle()
        assert await _followed(client) == ["sandbox/project", "sandbox/docs"]
        number = (await client.post("/github/pulls", {"repo": "sandbox/docs", "author": "dana", "title": "Docs"}))[
            "number"
        ]
        await client.post(f"/github/pulls/sandbox/docs/{number}/merge", {"by": "maintainer"})
        await client.settle()
        kudos = await client.messages("kudos")
        assert len(kudos) == 1 and "dana" in kudos[0]["content"] + str(kudos[0]["embeds"])
        await client.delete("/github/app/install", {"repos": ["sandbox/docs"]})
        await client.settle()
        assert await _followed(client) == ["sandbox/project"]
        assert "sandbox/docs: the GitHub App was uninstalled from it" in await _status_lines(client)


async def test_uninstalling_the_app_stops_following_and_status_says_so() -> None:
    async with running_sandbox(github_app=True) as client:
        await client.delete("/github/app/install")
        await client.settle()
        assert await _followed(client) == []
        assert "GitHub App: uninstalled" in await _status_lines(client)
        number = (await client.post("/github/pulls", {"repo": "sandbox/project", "author": "erin", "title": "X"}))[
            "number"
        ]
        await client.post(f"/github/pulls/sandbox/project/{number}/merge", {"by": "maintainer"})
        await client.settle()
        assert await client.messages("kudos") == []


async def test_configured_repositories_the_app_cannot_see_are_named_in_status() -> None:
    overrides = {"github": {"repositories": ["sandbox/project", "sandbox/elsewhere"]}}
    async with running_sandbox(github_app=True, overrides=overrides) as client:
        assert await _followed(client) == ["sandbox/project"]
        assert "sandbox/elsewhere: configured, but the GitHub App cannot see it" in await _status_lines(client)


async def test_an_expired_installation_token_is_replaced_and_nothing_is_lost() -> None:
    async with running_sandbox(github_app=True, expect_rejections=True) as client:
        expired = await client.post("/github/app/tokens/expire")
        assert expired["expired"] >= 1
        await client.post(
            "/github/history",
            {
                "repo": "sandbox/project",
                "pulls": [{"author": "fay", "merged_at": "2025-01-01T00:00:00Z", "merged_by": "maintainer"}],
            },
        )
        result = await client.command("owner", "vestry backfill", repo="sandbox/project")
        await client.settle()
        assert "could not" not in str(result["responses"]).lower()
        refused = await client.get("/github/rejections")
        assert [r["message"] for r in refused] == ["Bad credentials"]
        ledger = client.sandbox.services.db
        assert await ledger.fetchval("SELECT COUNT(*) FROM pull_requests", default=0) == 1


async def test_a_suspended_installation_never_crashes_the_bot_and_status_says_so() -> None:
    async with running_sandbox(github_app=True, expect_rejections=True) as client:
        await client.post("/github/app/suspend", {"suspended": True})
        await client.post("/github/app/tokens/expire")
        await client.settle()
        result = await client.post("/jobs/github.poll/run")
        assert result is not None
        lines = await _status_lines(client)
        assert "the installation is suspended" in lines
        refused = await client.get("/github/rejections")
        assert any(r["message"] == "This installation has been suspended" for r in refused)


async def test_a_refused_app_jwt_never_crashes_and_status_names_the_refusal() -> None:
    async with running_sandbox(github_app=True, expect_rejections=True) as client:
        app = client.sandbox.github.world.apps.app
        app.public_key = new_key_pair()[1]  # the key was rotated on GitHub: the bot's JWTs no longer verify
        await client.post("/github/app/tokens/expire")
        await client.post("/jobs/github.poll/run")
        lines = await _status_lines(client)
        assert "A JSON web token could not be decoded" in lines
        refused = {r["message"] for r in await client.get("/github/rejections")}
        assert refused == {"Bad credentials", "A JSON web token could not be decoded"}
        result = await client.command("owner", "vestry status")
        assert result["responses"][0]["embeds"][0]["title"] == "Vestry status"


async def test_installing_the_app_again_after_an_uninstall_follows_the_new_installation() -> None:
    async with running_sandbox(github_app=True) as client:
        await client.delete("/github/app/install")
        await client.settle()
        await client.post("/github/app/install", {"repos": ["sandbox/project"]})
        await client.settle()
        assert await _followed(client) == ["sandbox/project"]
        assert "GitHub App: uninstalled" not in await _status_lines(client)
        await client.post(
            "/github/history",
            {
                "repo": "sandbox/project",
                "pulls": [{"author": "hana", "merged_at": "2025-01-01T00:00:00Z", "merged_by": "maintainer"}],
            },
        )
        await client.command("owner", "vestry backfill", repo="sandbox/project")
        await client.settle()
        db = client.sandbox.services.db
        assert await db.fetchval("SELECT COUNT(*) FROM pull_requests", default=0) == 1


async def test_vestry_sandbox_github_app_runs_the_bot_as_the_app(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--github-app",
        "--rate-limits",
        "fast",
        "--data",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        info = json.loads(line.removeprefix("sandbox ready "))
        async with ControlClient(info["control"]) as client:
            github = (await client.get("/requests"))["github"]
            assert github["POST /app/installations/{installation_id}/access_tokens"]["requests"] == 1
            assert github["GET /installation/repositories"]["requests"] == 1
            assert await client.get("/github/rejections") == []
        assert oct((tmp_path / "github-app.pem").stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=20) == 0


async def test_while_polling_each_poll_follows_what_the_app_is_installed_on() -> None:
    async with running_sandbox(github_app=True, poll=True) as client:
        await client.post("/github/repos", {"full_name": "sandbox/docs"})
        await client.post("/github/app/install", {"repos": ["sandbox/docs"]})
        await client.post("/jobs/github.poll/run")
        assert await _followed(client) == ["sandbox/project", "sandbox/docs"]
        await client.delete("/github/app/install", {"repos": ["sandbox/docs"]})
        await client.post("/jobs/github.poll/run")
        assert await _followed(client) == ["sandbox/project"]
        assert client.sandbox.services.settings.github.repositories == ["sandbox/project"]
        assert "sandbox/docs: the GitHub App was uninstalled from it" in await _status_lines(client)


async def test_github_unreachable_at_start_is_asked_again_before_the_bot_is_ready() -> None:
    github = GitHubEmulator(clock=ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)), rate_limits="fast")
    await github.start()
    await github.create_repo("sandbox/project", deliver=False)
    await github.create_user("maintainer", deliver=False)
    github.add_fault("GET", "/installation/repositories", 503, times=4)  # the first look, with all its retries
    try:
        async with running_sandbox(github=github, github_app=True) as client:
            assert await _followed(client) == ["sandbox/project"]
            assert "cannot list" not in await _status_lines(client)
    finally:
        await github.stop()
