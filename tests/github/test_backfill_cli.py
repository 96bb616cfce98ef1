"""``vestry backfill`` through its entry function, against the emulator, with a real database file."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from bot.config import Secrets, parse_settings
from bot.db import Database
from bot.github.backfill_cli import EXIT_OK, EXIT_TEMPFAIL, EXIT_USAGE, run_backfill_cli
from bot.sandbox.github_emulator import GitHubEmulator
from tests.github.conftest import REPO


def _settings(emulator: GitHubEmulator, path: Path):  # type: ignore[no-untyped-def]
    return parse_settings(
        {
            "discord": {"guild_id": 123456789012345678},
            "github": {"repositories": [REPO], "api_url": emulator.url},
            "database": {"path": str(path)},
        }
    )


def _secrets(token: str | None) -> Secrets:
    return Secrets(
        discord_token=None,
        github_token=SecretStr(token) if token else None,
        github_app_id=None,
        github_app_private_key_file=None,
        github_webhook_secret=None,
    )


async def test_cli_backfills_the_followed_repository(emulator: GitHubEmulator, tmp_path: Path) -> None:
    rows = [{"number": n, "author": f"dev{n}", "merged_at": f"2021-01-01T00:{n:02d}:00Z"} for n in range(1, 31)]
    await emulator.load_history(REPO, rows)
    out = io.StringIO()
    settings = _settings(emulator, tmp_path / "vestry.sqlite3")

    code = await run_backfill_cli(settings, _secrets(emulator.token), None, Console(file=out, width=200))
    again = await run_backfill_cli(settings, _secrets(emulator.token), REPO, Console(file=out, width=200))

    assert (code, again) == (EXIT_OK, EXIT_OK)
    assert "imported 30 merged PRs" in out.getvalue() and "already imported" in out.getvalue()
    assert emulator.token not in out.getvalue()
    db = Database(tmp_path / "vestry.sqlite3")
    await db.open()
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE historical = 1") == 30
    finally:
        await db.close()


async def test_cli_reports_a_rate_limit_with_a_retry_later_code(emulator: GitHubEmulator, tmp_path: Path) -> None:
    emulator.add_fault("POST", "/graphql", 403, 1, retry_after=3600)
    out = io.StringIO()

    code = await run_backfill_cli(
        _settings(emulator, tmp_path / "v.sqlite3"), _secrets(emulator.token), REPO, Console(file=out, width=200)
    )

    assert code == EXIT_TEMPFAIL and "run the same command again" in out.getvalue()


async def test_cli_says_when_a_spent_graphql_budget_resumes_and_exits_75(
    emulator: GitHubEmulator, tmp_path: Path
) -> None:
    rows = [{"number": n, "author": f"dev{n}", "merged_at": f"2021-01-01T00:{n:02d}:00Z"} for n in range(1, 6)]
    await emulator.load_history(REPO, rows)
    emulator.add_fault("POST", "/graphql", "graphql-rate-limited", 1, retry_after=1800)
    out = io.StringIO()

    code = await run_backfill_cli(
        _settings(emulator, tmp_path / "v.sqlite3"), _secrets(emulator.token), REPO, Console(file=out, width=200)
    )

    text = out.getvalue()
    assert code == EXIT_TEMPFAIL == 75
    assert re.search(r"GitHub's rate limit is spent; it resumes by itself at \d\d:\d\d UTC", text), text
    assert "Traceback" not in text


async def test_cli_refuses_bad_input(emulator: GitHubEmulator, tmp_path: Path) -> None:
    settings = _settings(emulator, tmp_path / "v.sqlite3")
    out = Console(file=io.StringIO())

    assert await run_backfill_cli(settings, _secrets(emulator.token), "not-a-repo", out) == EXIT_USAGE
    assert await run_backfill_cli(settings, _secrets(None), REPO, out) == EXIT_USAGE
