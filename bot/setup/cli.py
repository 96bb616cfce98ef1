"""The ``vestry init`` command line: one flag for every question, so scripts and tests need no terminal."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bot.setup.discord_api import DISCORD_API
from bot.setup.github_setup import GITHUB_API, GITHUB_WEB


def add_init_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``vestry init`` and its flags to the CLI's subcommands."""
    init = sub.add_parser(
        "init",
        help="set Vestry up: Discord server, channels and roles, GitHub App or token, config.toml and secrets",
    )
    flag = init.add_argument
    yes_no = argparse.BooleanOptionalAction
    flag("--non-interactive", action="store_true", help="never ask: take flags, else defaults, else fail")
    flag("--output", default="config.toml", help="settings file to write (default: config.toml)")
    flag("--env-file", default="vestry.env", help="secrets file to write, mode 0600 (default: vestry.env)")
    flag("--key-file", default="github-app.pem", help="where the GitHub App's private key goes, mode 0600")
    flag("--force", action="store_true", default=None, help="replace existing files without asking")
    flag("--discord-token", default=os.environ.get("DISCORD_TOKEN"), help="the bot token (default: $DISCORD_TOKEN)")
    flag("--discord-api", default=DISCORD_API, help=argparse.SUPPRESS)
    flag("--guild", help="the server, by name or id")
    for purpose in ("kudos", "reviews", "digest", "maintainers"):
        flag(f"--{purpose}-channel", help=f"the {purpose} channel by name or id ('none' to leave it out)")
    flag("--create-channels", action=yes_no, default=None, help="create channels that do not exist")
    flag("--maintainer-role", help="the maintainers' role by name or id ('none': Manage Server only)")
    flag("--tiers", help="the three ladder tiers' names, lowest first, comma-separated")
    flag("--create-roles", action=yes_no, default=None, help="create ladder roles that do not exist")
    flag("--members-intent", action=yes_no, default=None, help="use the Server Members intent when it is on")
    flag("--github", choices=("app", "token"), help="create a GitHub App (manifest flow) or use a token")
    flag("--github-token", default=os.environ.get("GITHUB_TOKEN"), help="token mode: the token ($GITHUB_TOKEN)")
    flag("--repo", help="repositories to follow, comma-separated owner/name (App mode: optional)")
    flag("--webhook-url", help="public URL GitHub delivers webhooks to ('none': poll GitHub instead)")
    flag("--app-name", help="App mode: the GitHub App's name")
    flag("--organization", help="App mode: create the App under this organization instead of your account")
    flag("--invitations", action=yes_no, default=None, help="App mode: ask to write comments (for invitations)")
    flag("--callback-port", type=int, default=0, help="App mode: local port for GitHub's redirect (default: any)")
    flag("--browser-timeout", type=float, default=600, help="App mode: seconds to wait for the browser")
    flag("--github-api", default=GITHUB_API, help="GitHub's API URL (GitHub Enterprise: https://HOST/api/v3)")
    flag("--github-web", default=GITHUB_WEB, help="GitHub's web URL (GitHub Enterprise: https://HOST)")
    return init  # type: ignore[no-any-return]
