"""What `vestry init` writes and asks GitHub for: a valid commented config, private secrets, a least-privilege App."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from bot.config import parse_settings
from bot.config.github import GitHubAppSettings
from bot.setup.files import DEFAULT_TIERS, Plan, TierPlan, read_env, render_config, render_env, write_private
from bot.setup.github_setup import build_manifest


def _plan(**changes: object) -> Plan:
    plan = Plan(guild_id=1094583495310856262, guild_name='Acme "Community"')
    plan.channels = {"kudos": (1094583495310856263, "kudos")}
    plan.maintainer_role = (1094583495310856270, "Maintainers")
    plan.tiers = [TierPlan(t.name, t.criteria, t.color, 1094583495310856280 + i) for i, t in enumerate(DEFAULT_TIERS)]
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def test_the_written_config_is_valid_toml_and_valid_settings_in_both_modes() -> None:
    token_mode = render_config(_plan(repositories=["acme/widgets"]), "vestry.env")
    settings = parse_settings(tomllib.loads(token_mode))
    assert settings.github.repositories == ["acme/widgets"] and settings.github.app is None
    assert settings.discord.channels.kudos == 1094583495310856263 and settings.discord.channels.digest is None
    app = GitHubAppSettings(app_id=42, private_key_file="/etc/vestry/app.pem", installation_id=None)
    app_mode = render_config(_plan(app=app, poll=True), "vestry.env")
    settings = parse_settings(tomllib.loads(app_mode))
    assert settings.github.app is not None and settings.github.app.app_id == 42 and settings.github.repositories == []
    assert settings.github.poll and not settings.webhooks.enabled
    assert [t.name for t in settings.ladder.tiers] == ["Follower", "Priest in training", "Priest"]
    assert '# The server "Acme \\"Community\\""' in app_mode  # a hostile server name stays inside its comment


def test_secrets_are_written_readable_by_their_owner_only_and_read_back(tmp_path: Path) -> None:
    env = tmp_path / "vestry.env"
    env.write_text("old")
    env.chmod(0o644)
    write_private(env, render_env({"DISCORD_TOKEN": "abc", "GITHUB_TOKEN": None, "GITHUB_WEBHOOK_SECRET": "s3"}))
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert read_env(env) == {"DISCORD_TOKEN": "abc", "GITHUB_WEBHOOK_SECRET": "s3"}
    env.write_text("# comment\nexport A='quoted value'\nB=\"x=y\"\n\nnot a line\n")
    assert read_env(env) == {"A": "quoted value", "B": "x=y"}


def test_the_manifest_asks_for_read_only_access_unless_invitations_are_on() -> None:
    plain = build_manifest(
        "Vestry", "https://vestry.example/github/webhook", "http://127.0.0.1:1/callback", invitations=False
    )
    assert plain["default_permissions"] == {"metadata": "read", "pull_requests": "read", "issues": "read"}
    assert plain["hook_attributes"] == {"url": "https://vestry.example/github/webhook", "active": True}
    assert set(plain["default_events"]) == {
        "pull_request",
        "pull_request_review",
        "issues",
        "star",
        "member",
        "repository",
    }
    inviting = build_manifest("Vestry", None, "http://127.0.0.1:1/callback", invitations=True)
    assert inviting["default_permissions"] == {"metadata": "read", "pull_requests": "write", "issues": "write"}
    assert "hook_attributes" not in inviting  # polling: no webhook for GitHub to call
