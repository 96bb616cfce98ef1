"""The command line: clear one-line failures with the documented exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def vestry(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET"}}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=base | (env or {}),
        cwd=cwd,
    )


def config_file(tmp_path: Path) -> Path:
    text = (
        (ROOT / "config.example.toml")
        .read_text()
        .replace('path = "vestry.sqlite3"', f'path = "{tmp_path / "v.sqlite3"}"')
    )
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_version() -> None:
    result = vestry("--version")
    assert result.returncode == 0 and result.stdout.startswith("vestry ")


def test_run_without_discord_token_names_it_and_exits_2(tmp_path: Path) -> None:
    result = vestry("run", "--config", str(config_file(tmp_path)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0]


def test_run_refuses_an_invalid_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[discord]\nguild_id = 5\n")
    result = vestry("run", "--config", str(bad), env={"DISCORD_TOKEN": "x"})
    assert result.returncode == 1
    assert "github: required key is missing" in result.stderr


def test_db_migrate_and_backup(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    migrated = vestry("db", "migrate", "--config", str(config))
    assert migrated.returncode == 0, migrated.stderr
    assert "0001_initial.sql" in migrated.stdout
    again = vestry("db", "migrate", "--config", str(config))
    assert "none pending" in again.stdout
    backup = vestry("db", "backup", str(tmp_path / "copy.sqlite3"), "--config", str(config))
    assert backup.returncode == 0, backup.stderr
    assert (tmp_path / "copy.sqlite3").stat().st_size > 0
    refused = vestry("db", "backup", str(tmp_path / "copy.sqlite3"), "--config", str(config))
    assert refused.returncode == 2 and "already exists" in refused.stderr


@pytest.mark.parametrize("args", [["config-docs"], ["--help"]])
def test_informational_commands_succeed(args: list[str]) -> None:
    assert vestry(*args).returncode == 0


def test_run_without_github_token_names_it_and_exits_2(tmp_path: Path) -> None:
    result = vestry("run", "--config", str(config_file(tmp_path)), env={"DISCORD_TOKEN": "x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "GITHUB_TOKEN" in lines[0]


def test_sandbox_offers_real_and_fast_rate_limits_and_refuses_others() -> None:
    assert "--rate-limits {real,fast}" in vestry("sandbox", "--help").stdout
    refused = vestry("sandbox", "--rate-limits", "none")
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
