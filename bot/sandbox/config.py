"""The sandbox's built-in configuration, wired to the emulators' default world."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings, parse_settings

SANDBOX_REPO = "sandbox/project"
SANDBOX_OAUTH_CLIENT_ID = "sandbox-oauth-client"
DEFAULT_TIERS = [
    {"name": "Follower", "role_id": "Follower", "criteria": {"linked": True}},
    {"name": "Priest in training", "role_id": "Priest in training", "criteria": {"merged_prs": 1}},
    {"name": "Priest", "role_id": "Priest", "criteria": {"merges": 1}},
]


# The sandbox shows the hall of fame, rebuilt at once after every change so tests and demos see it current.
# Avatars are drawn by the bot (no image origins): the sandbox works offline.
SANDBOX_HALL_OF_FAME = {"enabled": True, "refresh_every": "0s", "project_name": "Sandbox project", "image_origins": []}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into a copy of ``base``, table by table."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def builtin_config(world: Any, github_url: str, db_path: Path, poll: bool) -> dict[str, Any]:
    """Every feature on, pointed at the emulators."""
    return {
        "discord": {
            "guild_id": world.guild_id,
            "maintainer_role_id": world.role_id("Maintainers"),
            "owner_ids": [world.owner_id],
            "channels": {name: world.channel_id(name) for name in ("kudos", "reviews", "digest", "maintainers")},
        },
        "github": {
            "repositories": [SANDBOX_REPO],
            "api_url": github_url,
            "oauth_url": github_url,
            "oauth_client_id": SANDBOX_OAUTH_CLIENT_ID,
            "poll": poll,
            "poll_interval": "30s",
        },
        "webhooks": {"enabled": not poll, "host": "127.0.0.1", "port": 0},
        "database": {"path": str(db_path)},
        "ladder": {"tiers": copy.deepcopy(DEFAULT_TIERS)},
        "kudos": {"reaction_emoji": "🙏"},
        "hall_of_fame": dict(SANDBOX_HALL_OF_FAME),
    }


def resolve_names(data: dict[str, Any], world: Any) -> dict[str, Any]:
    """Let sandbox configs name roles and channels instead of giving ids (``role_id = "Priest"``)."""
    data = copy.deepcopy(data)
    for tier in data.get("ladder", {}).get("tiers", []):
        if isinstance(tier.get("role_id"), str) and not tier["role_id"].isdigit():
            tier["role_id"] = world.role_id(tier["role_id"])
    discord = data.get("discord", {})
    if isinstance(discord.get("maintainer_role_id"), str) and not discord["maintainer_role_id"].isdigit():
        discord["maintainer_role_id"] = world.role_id(discord["maintainer_role_id"])
    for purpose, ref in list(discord.get("channels", {}).items()):
        if isinstance(ref, str) and not ref.isdigit():
            discord["channels"][purpose] = world.channel_id(ref)
    teams = data.get("reviews", {}).get("team_roles", {})
    for slug, ref in list(teams.items()):
        if isinstance(ref, str) and not ref.isdigit():
            teams[slug] = world.role_id(ref)
    return data


def sandbox_settings(
    world: Any,
    github_url: str,
    db_path: Path,
    *,
    poll: bool = False,
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build the settings the sandboxed bot runs with."""
    if config_file is None:
        data = builtin_config(world, github_url, db_path, poll)
        data = deep_merge(data, overrides or {})
        return parse_settings(resolve_names(data, world), "sandbox configuration")
    settings = load_settings(config_file)
    data = settings.model_dump(mode="json")
    data["discord"]["guild_id"] = world.guild_id
    for purpose, channel_id in list(data["discord"]["channels"].items()):
        known = {c["id"] for c in world.state()["channels"]}
        if channel_id is not None and str(channel_id) not in {str(k) for k in known}:
            data["discord"]["channels"][purpose] = world.channel_id(purpose)
    roles = {str(r["id"]): r["name"] for r in world.state()["roles"]}
    for tier in data["ladder"]["tiers"]:
        if str(tier["role_id"]) not in roles:
            try:
                tier["role_id"] = world.role_id(tier["name"])
            except KeyError:
                tier["role_id"] = world.create_role(tier["name"], 1)
    if data["discord"].get("maintainer_role_id") and str(data["discord"]["maintainer_role_id"]) not in roles:
        data["discord"]["maintainer_role_id"] = world.role_id("Maintainers")
    data["github"].update(api_url=github_url, oauth_url=github_url, poll=poll)
    data["github"].setdefault("oauth_client_id", SANDBOX_OAUTH_CLIENT_ID)
    data["webhooks"].update(enabled=not poll, host="127.0.0.1", port=0)
    data["web"].update(host="127.0.0.1", port=0)
    data["hall_of_fame"] = {**data["hall_of_fame"], "enabled": True, "refresh_every": "0s"}
    if data["database"]["path"] == "vestry.sqlite3":
        data["database"]["path"] = str(db_path)
    data = deep_merge(data, overrides or {})
    return parse_settings(resolve_names(data, world), str(config_file))
