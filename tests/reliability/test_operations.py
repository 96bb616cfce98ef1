"""Operations: /healthz, /metrics in valid Prometheus text, `vestry db backup` while the bot writes and a restore,
and malformed configurations that stop the bot before it starts half-configured."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import main as vestry
from bot.db import Database
from tests.reliability import checks

SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (\S+)$'
)
NEEDED = {
    "vestry_webhook_deliveries_total": "counter",
    "vestry_webhook_processing_seconds_total": "counter",
    "vestry_webhook_processed_total": "counter",
    "vestry_webhook_pending": "gauge",
    "vestry_outbox_depth": "gauge",
    "vestry_outbox_oldest_seconds": "gauge",
    "vestry_outbox_failed": "gauge",
    "vestry_outbox_retries_total": "gauge",
    "vestry_github_requests_total": "gauge",
    "vestry_github_rate_limit_remaining": "gauge",
    "vestry_job_runs_total": "gauge",
    "vestry_job_failures_total": "gauge",
}


def parse_prometheus(text: str) -> dict[str, dict[str, float]]:
    """Parse the text format strictly: one TYPE per family, before its samples; every sample well formed."""
    families: dict[str, str] = {}
    samples: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in families, f"second TYPE line for {name}"
            assert kind in ("counter", "gauge", "summary", "histogram", "untyped"), line
            families[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed sample: {line!r}"
        name, labels, value = match.groups()
        assert name in families, f"{name} has no TYPE line before it"
        samples.setdefault(name, {})[labels or ""] = float(value)
    return {name: samples.get(name, {}) for name in families} | {f"type:{k}": {v: 1.0} for k, v in families.items()}


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def base_url(sb: Any) -> str:
    return str(sb.sandbox.services.web.url)


async def test_healthz_checks_the_loop_the_database_and_the_gateway(sandbox: Any) -> None:
    status, text = await get(base_url(sandbox) + "/healthz")
    assert status == 200, text
    assert '"event_loop": true' in text and '"database": true' in text and '"gateway": true' in text, text
    await sandbox.sandbox.app.bot.close()  # the gateway is gone for good
    status, text = await get(base_url(sandbox) + "/healthz")
    assert status == 503 and "gateway" in text and '"ok": false' in text, text
    checks.record("/healthz", 2, "200 with loop, database and gateway up; 503 naming the gateway once it is gone")


async def test_metrics_are_valid_prometheus_text_and_cover_deliveries_outbox_github_and_jobs(sandbox: Any) -> None:
    await sandbox.user("ann")
    number = await sandbox.pull("ann", "A change")
    await sandbox.merge(number)
    await sandbox.settle()
    await sandbox.run_job("github.poll")
    async with aiohttp.ClientSession() as session:  # a second series of the deliveries family
        await session.post(sandbox.sandbox.services.webhooks.url, data=b"{}", headers={"X-GitHub-Event": "ping"})
    status, text = await get(base_url(sandbox) + "/metrics")
    assert status == 200
    parsed = parse_prometheus(text)
    for family, kind in NEEDED.items():
        assert family in parsed and parsed[f"type:{family}"] == {kind: 1.0}, (family, text)
    assert parsed["vestry_webhook_deliveries_total"]['{result="accepted"}'] >= 2
    assert parsed["vestry_webhook_deliveries_total"]['{result="bad_signature"}'] == 1
    assert parsed["vestry_webhook_processed_total"][""] >= 2
    assert parsed["vestry_outbox_depth"][""] == 0
    assert parsed["vestry_outbox_failed"][""] == 0
    assert parsed["vestry_github_requests_total"][""] > 0
    assert parsed["vestry_github_rate_limit_remaining"]['{resource="core"}'] > 0
    assert parsed["vestry_job_runs_total"]['{job="github.poll"}'] >= 1
    assert parsed["vestry_job_failures_total"]['{job="github.poll"}'] == 0
    checks.record(
        "/metrics", len(NEEDED), f"valid Prometheus text; {len(parsed) // 2} families incl. {', '.join(NEEDED)}"
    )


def write_config(path: Path, database: Path) -> Path:
    path.write_text(
        f'[discord]\nguild_id = 1\n\n[github]\nrepositories = ["sandbox/project"]\n\n[database]\npath = "{database}"\n',
        encoding="utf-8",
    )
    return path


async def backup_cli(target: Path, config: Path) -> tuple[int | None, str]:
    """Run `vestry db backup` as an operator would, in its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "backup", str(target), "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    return process.returncode, err.decode()


async def test_backup_while_the_bot_writes_restores_to_a_sound_consistent_database(
    sandbox: Any, tmp_path: Path
) -> None:
    sb = sandbox
    source = sb.sandbox.workdir / "vestry.sqlite3"
    config = write_config(tmp_path / "config.toml", source)
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            login = f"dev{written}"
            await sb.user(login)
            await sb.merge(await sb.pull(login, f"Change {written}"))
            written += 1

    task = asyncio.create_task(writer())
    backups = []
    try:
        for n in range(3):
            await asyncio.sleep(0.3)
            target = tmp_path / f"backup-{n}.sqlite3"
            code, err = await backup_cli(target, config)
            assert code == 0, err
            backups.append(target)
    finally:
        stop.set()
        await task
    await sb.settle()
    assert written > 3
    for backup in backups:
        restored = tmp_path / f"restored-{backup.name}"
        restored.write_bytes(backup.read_bytes())  # a restore is a copy of the backup file into place
        with contextlib.closing(sqlite3.connect(restored)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            merged = {n for (n,) in conn.execute("SELECT number FROM pull_requests WHERE state = 'merged'")}
            events = {
                n
                for (n,) in conn.execute(
                    "SELECT json_extract(payload, '$.number') FROM events WHERE kind = 'pr.merged'"
                )
            }
            assert merged == events, "a backup holds whole transactions: each merge with its event"
        db = Database(restored)
        await db.open()
        assert await db.migrate() == [], "the restored file is at the current schema"
        await db.set_state("restored", "yes")  # and writable
        await db.close()
    code, err = await backup_cli(backups[0], config)
    assert code == 2 and "already exists" in err, "a backup never overwrites a file"
    checks.record(
        "vestry db backup while the bot writes, then restore",
        len(backups),
        f"{written} merges written meanwhile; every backup passes integrity_check, holds whole transactions, "
        "opens at the current schema and is writable",
    )


BAD_CONFIGS = {
    "unknown top-level table": ("[discrod]\nguild_id = 1\n", ["discrod"]),
    "unknown nested key": (
        '[discord]\nguild_id = 1\nchanels = {}\n[github]\nrepositories = ["a/b"]\n',
        ["discord.chanels"],
    ),
    "wrong type": ('[discord]\nguild_id = "abc"\n[github]\nrepositories = ["a/b"]\n', ["discord.guild_id"]),
    "bad repository": ('[discord]\nguild_id = 1\n[github]\nrepositories = ["not a repo"]\n', ["github.repositories"]),
    "bad duration": (
        '[discord]\nguild_id = 1\n[github]\nrepositories = ["a/b"]\npoll_interval = "soon"\n',
        ["github.poll_interval"],
    ),
    "bad tier deep inside": (
        '[discord]\nguild_id = 1\n[github]\nrepositories = ["a/b"]\n'
        '[[ladder.tiers]]\nname = "A"\nrole_id = 5\ncriteria = { merged_prz = 1 }\n',
        ["ladder.tiers[0].criteria.merged_prz"],
    ),
    "several at once": (
        '[discord]\nguild_id = "x"\nfoo = 1\n[github]\nrepositories = ["a/b"]\n[kudos]\nbar = 2\n',
        ["discord.guild_id", "discord.foo", "kudos.bar"],
    ),
    "not TOML": ("[discord\nguild_id = 1\n", ["TOML"]),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_a_malformed_config_names_each_wrong_key_and_the_bot_does_not_start(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text, paths = BAD_CONFIGS[name]
    config = tmp_path / "config.toml"
    config.write_text(text.replace("[discord]", f'[database]\npath = "{tmp_path}/vestry.sqlite3"\n\n[discord]', 1))
    assert vestry(["check-config", str(config)]) == 1
    report = capsys.readouterr().err
    missing = [path for path in paths if path not in report]
    assert not missing, f"{missing} not named in:\n{report}"
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")
    with pytest.raises(SystemExit) as stopped:
        vestry(["run", "--config", str(config)])
    assert stopped.value.code == 1
    assert not (tmp_path / "vestry.sqlite3").exists(), "nothing was started: not even the database was created"
    checks.record(f"malformed config: {name}", 1, f"exit 1 before starting; names {', '.join(paths)}")
