"""Configuration: every problem named by its key path; the example file is valid; the reference is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_secrets, load_settings, parse_settings
from bot.config.docs import render_reference
from bot.config.types import parse_duration

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"discord": {"guild_id": 1094583495310856262}, "github": {"repositories": ["acme/widget"]}}


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    return {p.path: p.message for p in caught.value.problems}


def test_example_config_validates() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert [tier.name for tier in settings.ladder.tiers] == ["Follower", "Priest in training", "Priest"]


def test_minimal_config_gets_defaults() -> None:
    settings = parse_settings(MINIMAL)
    assert settings.reviews.schedule == "0 9 * * 1-5"
    assert settings.kudos.milestones == [10, 25, 50, 100]


def test_every_broken_key_is_named_with_its_path() -> None:
    found = problems(
        {
            "discord": {"guild_id": "general", "chanels": {}},
            "github": {"repositories": ["not-a-repo"]},
            "reviews": {"schedule": "every monday", "timezone": "Mars/Olympus"},
            "kudos": {"first_pr_message": "Hi {author.__class__}"},
        }
    )
    assert "Discord id" in found["discord.guild_id"]
    assert 'did you mean "channels"' in found["discord.chanels"]
    assert "owner/name" in found["github.repositories[0]"]
    assert "cron" in found["reviews.schedule"]
    assert "time zone" in found["reviews.timezone"]
    assert "unknown placeholder" in found["kudos.first_pr_message"]


def test_nested_tier_criteria_typo_is_named() -> None:
    data = MINIMAL | {
        "ladder": {"tiers": [{"name": "A", "role_id": 1094583495310856262, "criteria": {"merged_pr": 1}}]}
    }
    found = problems(data)
    assert 'did you mean "merged_prs"' in found["ladder.tiers[0].criteria.merged_pr"]


def test_missing_required_sections_are_reported() -> None:
    found = problems({})
    assert found == {"discord": "required key is missing", "github": "required key is missing"}


@pytest.mark.parametrize(("text", "seconds"), [("36h", 129600), ("2d", 172800), ("90s", 90), ("1w", 604800)])
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_bad_duration_is_explained() -> None:
    found = problems(MINIMAL | {"reviews": {"threshold": "two days"}})
    assert "duration" in found["reviews.threshold"]


def test_secrets_come_from_the_environment_only() -> None:
    secrets = load_secrets({"DISCORD_TOKEN": "abc.def", "GITHUB_TOKEN": " "})
    assert secrets.discord_token is not None and secrets.discord_token.get_secret_value() == "abc.def"
    assert secrets.github_token is None
    assert "abc.def" not in repr(secrets)


def test_configuration_reference_is_current() -> None:
    current = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert current == render_reference(), "run: vestry config-docs --output docs/configuration.md"


def test_check_config_cli_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[discord]\nguild_id = "x"\nchanels = 1\n[github]\nrepositories = ["a/b"]\n'
        '[reviews]\nschedule = "99 * * * *"\ntimezone = "Nowhere/City"\n'
    )
    result = subprocess.run([sys.executable, "-m", "bot", "check-config", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    for path in ("discord.guild_id", "discord.chanels", "reviews.schedule", "reviews.timezone"):
        assert path in result.stderr
    assert "Traceback" not in result.stderr
    good = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(ROOT / "config.example.toml")], capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5", "fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("sat,sun", "sat,sun"),
        ("5-7", "fri,sat,sun"),
    ],
)
def test_cron_weekdays_keep_their_crontab_meaning(field: str, days: str) -> None:
    from bot.schedule import crontab_weekdays

    assert crontab_weekdays(field) == days


def test_latest_fire_time_finds_the_slot_at_or_before_now() -> None:
    from datetime import UTC, datetime

    from bot.schedule import crontab_trigger, latest_fire_time

    friday_four = crontab_trigger("0 16 * * 5", "UTC")
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert latest_fire_time(friday_four, sunday) == datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    at_slot = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert latest_fire_time(friday_four, at_slot) == at_slot
