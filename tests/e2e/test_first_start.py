"""A first start with an empty ledger: history is imported (when configured) or the maintainers are asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import first_start_backfill
from bot.clock import ManualClock
from bot.sandbox.github_emulator import GitHubEmulator
from bot.sandbox.runner import Sandbox

REPO = "sandbox/project"


async def test_first_start_asks_the_maintainers_to_run_the_backfill(sandbox: Any) -> None:
    await first_start_backfill(sandbox.sandbox.services, prompt=True)
    await sandbox.settle()
    (prompt,) = await sandbox.messages("maintainers")
    assert "/vestry backfill" in prompt["content"]
    await first_start_backfill(sandbox.sandbox.services, prompt=True)
    await sandbox.settle()
    assert len(await sandbox.messages("maintainers")) == 1


async def test_first_start_runs_the_backfill_when_configured_and_announces_nothing(tmp_path: Path) -> None:
    github = GitHubEmulator(clock=ManualClock())
    await github.start()
    try:
        await github.create_repo(REPO, deliver=False)
        merged_at = "2019-05-01T10:00:00Z"
        history = [
            {"number": n, "author": f"old{n % 7}", "merged_at": merged_at, "merged_by": "maintainer"}
            for n in range(1, 51)
        ]
        await github.load_history(REPO, history)
        sandbox = Sandbox(github=github, workdir=str(tmp_path), overrides={"github": {"backfill_on_first_start": True}})
        await sandbox.start()
        try:
            await sandbox.settle()
            db = sandbox.services.db
            assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE historical = 1") == 50
            assert sandbox.discord.messages("kudos") == []
            assert sandbox.discord.rejections() == []
        finally:
            await sandbox.stop()
    finally:
        await github.stop()
