"""Configuration that cannot work is refused naming the key and the fix; commands explain out-of-range values;
start-up retries an unreachable Discord or GitHub with one log line a try.

Each test here fails on the code before this check was added: `check-config` accepted `0 16 31 2 *`, zero and
negative durations, tiers on @everyone or the maintainer role, duplicate role ids, `javascript:` URLs and an empty
database path, printed an OverflowError for a huge duration, and started unsigned webhooks with a warning only;
`/away until:99999999w` and `/recognize link:http://[::1` answered "Something went wrong", `/digest preview
period:0001-01-01` showed a period in 1970, and an unreachable Discord stopped `vestry run` with a traceback.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import App, RunOptions, StartupError
from bot.cli import main as vestry
from bot.clock import ManualClock
from bot.config import ConfigError, Secrets, parse_settings
from bot.sandbox.config import sandbox_settings
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.discord_wire import point_discord_py_at
from bot.sandbox.github_emulator import GitHubEmulator
from bot.startup import Backoff
from tests.reliability import checks

GUILD, MAINTAINERS = 1094583495310856262, 1094583495310856270
BASE: dict[str, Any] = {
    "discord": {"guild_id": GUILD, "maintainer_role_id": MAINTAINERS},
    "github": {"repositories": ["o/r"]},
}


def with_(**tables: dict[str, Any]) -> dict[str, Any]:
    """The base configuration with some tables merged in."""
    data = {key: dict(value) for key, value in BASE.items()}
    for name, table in tables.items():
        data[name] = {**data.get(name, {}), **table}
    return data


def tier(name: str, role_id: int) -> dict[str, Any]:
    """A ladder tier for ``linked`` members."""
    return {"name": name, "role_id": role_id, "criteria": {"linked": True}}


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("cron that never fires", with_(digest={"schedule": "0 16 31 2 *"}), "digest.schedule", "never fires"),
    ("cron on 30 February", with_(reviews={"schedule": "0 9 30 2 *"}), "reviews.schedule", "never fires"),
    ("zero duration", with_(github={"poll_interval": "0s"}), "github.poll_interval", "longer than zero"),
    ("negative duration", with_(reviews={"threshold": -60}), "reviews.threshold", "longer than zero"),
    ("huge duration", with_(ladder={"reconcile_every": "99999999w"}), "ladder.reconcile_every", "ten years"),
    ("overflowing number", with_(digest={"period": 10**400}), "digest.period", "ten years"),
    ("not a number", with_(digest={"grace": float("nan")}), "digest.grace", "longer than zero"),
    ("tier on @everyone", with_(ladder={"tiers": [tier("A", GUILD)]}), "ladder.tiers[0].role_id", "@everyone"),
    (
        "tier on the maintainer role",
        with_(ladder={"tiers": [tier("A", MAINTAINERS)]}),
        "ladder.tiers[0].role_id",
        "maintainer_role_id",
    ),
    (
        "two tiers on one role",
        with_(ladder={"tiers": [tier("A", GUILD + 1), tier("B", GUILD + 1)]}),
        "ladder.tiers[1].role_id",
        "ladder.tiers[0]",
    ),
    ("javascript URL", with_(github={"api_url": "javascript:alert(1)"}), "github.api_url", "http(s) URL"),
    ("URL with user-info", with_(github={"oauth_url": "https://github.com@evil.example/"}), "github.oauth_url", "URL"),
    ("empty database path", with_(database={"path": ""}), "database.path", "empty"),
    ("blank database path", with_(database={"path": "   "}), "database.path", "empty"),
]


@pytest.mark.parametrize(("data", "key", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_settings_that_cannot_work_are_refused_naming_the_key(data: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, "test.toml")
    problems = {problem.path: problem.message for problem in caught.value.problems}
    assert key in problems, caught.value.render()
    assert words in problems[key]
    checks.record("config refusals", cases=1, held="refused naming the key")


def test_a_never_firing_cron_is_refused_at_once_by_check_config(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[discord]\nguild_id = {GUILD}\n[github]\nrepositories = ["o/r"]\n[digest]\nschedule = "0 16 31 2 *"\n'
    )
    started = time.perf_counter()
    assert vestry(["check-config", str(config)]) == 1
    took = time.perf_counter() - started
    err = capsys.readouterr().err
    assert "digest.schedule" in err and "never fires" in err and "Traceback" not in err
    checks.record("never-firing cron", cases=1, held="check-config exit 1", seconds=round(took, 3))


def test_good_settings_still_pass() -> None:
    settings = parse_settings(
        with_(
            ladder={"tiers": [tier("A", GUILD + 1), tier("B", GUILD + 2)]},
            digest={"schedule": "0 16 29 2 *"},
            github={"api_url": "http://127.0.0.1:9/api/v3"},
        )
    )
    assert settings.digest.schedule == "0 16 29 2 *"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _app(tmp_path: Path, secret: str | None, overrides: dict[str, Any], options: RunOptions) -> Any:
    clock = ManualClock()
    discord, github = DiscordEmulator(clock=clock), GitHubEmulator(clock=clock)
    await discord.start()
    await github.start()
    await github.create_repo("sandbox/project", deliver=False)
    point_discord_py_at(discord.api_base, discord.gateway_url)
    settings = sandbox_settings(discord, github.url, tmp_path / "v.sqlite3", overrides=overrides)
    secrets = Secrets(
        discord_token=SecretStr(discord.token),
        github_token=SecretStr(github.token),
        github_app_id=None,
        github_app_private_key_file=None,
        github_webhook_secret=SecretStr(secret) if secret else None,
    )
    return App(settings, secrets, clock, options), discord, github


def _options(**extra: Any) -> RunOptions:
    return RunOptions(guild_ready_timeout=0.1, github_throttle=False, webhook_port=0, webhook_host="127.0.0.1", **extra)


async def test_webhooks_without_a_secret_refuse_to_start_unless_allowed_on_purpose(tmp_path: Path) -> None:
    app, discord, github = await _app(tmp_path, None, {}, _options())
    try:
        with pytest.raises(StartupError) as caught:
            await app.start()
        assert "GITHUB_WEBHOOK_SECRET" in str(caught.value) and "webhooks.allow_unsigned" in str(caught.value)
        assert not (tmp_path / "v.sqlite3").exists(), "refused before the database was created"
    finally:
        await app.stop()
    allowed, _, _ = await _app(tmp_path, None, {"webhooks": {"allow_unsigned": True}}, _options())
    try:
        await allowed.start()
        assert allowed.services is not None and allowed.services.webhooks is not None
    finally:
        await allowed.stop()
        await github.stop()
        await discord.stop()
    checks.record("unsigned webhooks", cases=2, held="refused; allowed with allow_unsigned")


async def test_unreachable_discord_is_retried_with_backoff_and_one_line_a_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, discord, github = await _app(tmp_path, "s" * 20, {}, _options(discord_backoff=Backoff(0.01, 0.05, 4)))
    port = _closed_port()
    point_discord_py_at(f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/gateway")
    try:
        with caplog.at_level(logging.WARNING, logger="bot.startup"), pytest.raises(StartupError) as caught:
            await app.start()
        assert "Discord is unreachable" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        await app.stop()
        await github.stop()
        await discord.stop()
    lines = [r for r in caplog.records if r.name == "bot.startup"]
    assert len(lines) == 4 and all("Discord is unreachable" in r.getMessage() for r in lines)
    assert [r.exc_info for r in lines] == [None] * 4, "no traceback, one line a try"
    checks.record("unreachable Discord", cases=4, held="one line a try", log_lines=len(lines))


async def test_unreachable_github_at_start_up_is_retried_with_one_line_a_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = f"http://127.0.0.1:{_closed_port()}"
    overrides = {"github": {"api_url": api}}
    app, discord, github = await _app(tmp_path, "s" * 20, overrides, _options(github_backoff=Backoff(0.01, 0.05, 3)))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.startup"):
            await app.start()
            assert app.catch_up_task is not None
            await app.catch_up_task
    finally:
        await app.stop()
        await github.stop()
        await discord.stop()
    lines = [r for r in caplog.records if r.name == "bot.startup"]
    assert len(lines) == 3 and all("GitHub is unreachable" in r.getMessage() for r in lines), caplog.text
    checks.record("unreachable GitHub", cases=3, held="one line a try", log_lines=len(lines))


async def test_commands_answer_out_of_range_values_with_a_clear_sentence(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    asked = [
        ("away", {"until": "99999999w"}, "at most a year"),
        ("away", {"until": "9999-12-31"}, "at most a year"),
        ("recognize", {"member": "alice", "kind": "talk", "link": "http://[::1"}, "http(s) URL"),
        ("recognize", {"member": "alice", "kind": "talk", "link": "https://github.com@evil.example/"}, "user"),
        ("recognize", {"member": "alice", "kind": "talk", "link": "https://evil.example/x"}, "kudos.link_hosts"),
        ("digest preview", {"period": "0001-01-01"}, "before 2008"),
    ]
    for command, options, words in asked:
        (answer,) = (await sandbox.command("owner", command, **options))["responses"]
        assert answer["ephemeral"] is True, answer
        assert words in answer["content"] and "Something went wrong" not in answer["content"], answer["content"]
    checks.record("out-of-range command values", cases=len(asked), held="clear sentence")
