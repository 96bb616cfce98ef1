"""What ``vestry init`` writes: a commented ``config.toml``, the secrets in a 0600 env file, the App's key file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.github import GitHubAppSettings


@dataclass(frozen=True)
class TierPlan:
    """One ladder rung: its name, its role, what earns it (TOML inline table) and its role colour."""

    name: str
    criteria: str
    color: int
    role_id: int = 0


# The ladder Vestry is built around, lowest first, with role colours that read well in both Discord themes.
DEFAULT_TIERS = (
    TierPlan("Follower", "{ linked = true }", 0x95A5A6),
    TierPlan("Priest in training", "{ merged_prs = 1 }", 0x3498DB),
    TierPlan("Priest", "{ merges = 1 }", 0xF1C40F),
)
PURPOSES = {
    "kudos": "first-PR kudos, milestones, /kudos and promotions",
    "reviews": "the review nudges",
    "digest": "the weekly digest",
    "maintainers": "maintainer-only posts: promotion approvals, backfill prompts",
}


@dataclass
class Plan:
    """Everything the set-up decided, ready to be written."""

    guild_id: int
    guild_name: str
    channels: dict[str, tuple[int, str]] = field(default_factory=dict)
    maintainer_role: tuple[int, str] | None = None
    tiers: list[TierPlan] = field(default_factory=list)
    repositories: list[str] = field(default_factory=list)
    github_api: str = "https://api.github.com"
    app: GitHubAppSettings | None = None
    poll: bool = False
    webhook_port: int = 8080
    members_intent: bool = False
    owner_ids: list[int] = field(default_factory=list)


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def render_config(plan: Plan, secrets_file: str) -> str:
    """Return the commented TOML for ``plan``."""
    lines = [
        "# Vestry's settings, written by `vestry init`. Every key is described in docs/configuration.md;",
        "# `vestry check-config` validates this file.",
        f"# Secrets are never in this file: they are in {secrets_file} (mode 0600), read at start-up.",
        "",
        "[discord]",
        f"# The server {_q(plan.guild_name)}",
        f"guild_id = {plan.guild_id}",
    ]
    if plan.maintainer_role is not None:
        lines += [
            f"# Members with the role {_q(plan.maintainer_role[1])} count as maintainers (as do those with Manage "
            "Server)"
        ]
        lines += [f"maintainer_role_id = {plan.maintainer_role[0]}"]
    if plan.owner_ids:
        lines += ["# May run owner-only commands such as /vestry sync", f"owner_ids = {plan.owner_ids}"]
    lines += [
        "# The Server Members intent gives a rejoining member their roles back at once (Developer Portal → Bot)",
        f"members_intent = {str(plan.members_intent).lower()}",
        "",
        "[discord.channels]",
        "# Leave a channel out to turn off what posts there.",
    ]
    for purpose, (channel_id, name) in plan.channels.items():
        lines.append(f"{purpose} = {channel_id}  # #{' '.join(name.split())}: {PURPOSES[purpose]}")
    lines += ["", "[github]"]
    if plan.app is not None and not plan.repositories:
        lines += ["# Follow every repository the GitHub App is installed on; list some to follow only those:"]
        lines += ['# repositories = ["owner/name"]']
    else:
        lines += [f"repositories = [{', '.join(_q(repo) for repo in plan.repositories)}]"]
    if plan.github_api != "https://api.github.com":
        lines.append(f"api_url = {_q(plan.github_api)}")
    lines += [
        "# Poll GitHub on a timer instead of receiving webhooks (when GitHub cannot reach this machine)",
        f"poll = {str(plan.poll).lower()}",
    ]
    if plan.app is not None:
        lines += [
            "",
            "[github.app]",
            "# The GitHub App Vestry acts as; its private key stays in this 0600 file, never here",
            f"app_id = {plan.app.app_id}",
            f"private_key_file = {_q(str(plan.app.private_key_file))}",
        ]
    lines += [
        "",
        "[webhooks]",
        f"enabled = {str(not plan.poll).lower()}",
        "# GitHub delivers to http(s)://<this machine>:<port>/github/webhook (put a TLS proxy in front)",
        f"port = {plan.webhook_port}",
        "",
        "[database]",
        'path = "vestry.sqlite3"',
        "",
        "# The ladder, lowest tier first: each tier's role is granted when its criteria hold.",
    ]
    for tier in plan.tiers:
        lines += [
            "[[ladder.tiers]]",
            f"name = {_q(tier.name)}",
            f"role_id = {tier.role_id}",
            f"criteria = {tier.criteria}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), also when the file existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


def render_env(values: Mapping[str, str | None]) -> str:
    """Return KEY=value lines (what `vestry run --env-file` and systemd's EnvironmentFile read)."""
    lines = ["# Vestry's secrets, written by `vestry init`. Keep this file private (mode 0600)."]
    lines += [f"{key}={value}" for key, value in values.items() if value]
    return "\n".join(lines) + "\n"


def read_env(path: Path) -> dict[str, str]:
    """Read KEY=value lines (comments and blank lines skipped; surrounding quotes removed)."""
    found: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[key.strip()] = value
    return found
