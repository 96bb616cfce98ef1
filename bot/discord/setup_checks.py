"""Setup checks: what would make Discord refuse the bot's posts or role changes, one line each with the fix."""

from __future__ import annotations

from collections.abc import Iterable

import discord

_CHANNEL_NEEDS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
    # After a crash or timeout, a post that may have gone out is looked for before it is sent again.
    ("read_message_history", "Read Message History"),
)


def channel_problems(guild: discord.Guild, me: discord.Member, channels: dict[str, int | None]) -> list[str]:
    """List configured channels that are gone or that the bot cannot see or write in."""
    problems: list[str] = []
    for purpose, channel_id in channels.items():
        if channel_id is None:
            continue
        channel = guild.get_channel(channel_id)
        if channel is None:
            problems.append(f"the {purpose} channel {channel_id} does not exist: set discord.channels.{purpose}")
            continue
        perms = channel.permissions_for(me)
        if not perms.view_channel:
            problems.append(
                f"the bot cannot see #{channel.name} ({purpose} channel): give its role View Channel there "
                "(Edit Channel → Permissions)"
            )
            continue
        missing = [label for flag, label in _CHANNEL_NEEDS if not getattr(perms, flag)]
        if missing:
            problems.append(
                f"missing {', '.join(missing)} in #{channel.name} ({purpose} channel): allow them for the bot's role"
            )
    return problems


def tier_role_problems(guild: discord.Guild, me: discord.Member, role_ids: Iterable[int]) -> list[str]:
    """List ladder roles the bot can never grant: missing, @everyone, managed by an integration, or above it."""
    problems: list[str] = []
    for role_id in role_ids:
        role = guild.get_role(role_id)
        if role is None:
            problems.append(f"ladder role {role_id} does not exist in the server: fix ladder.tiers")
        elif role.is_default():
            problems.append("a ladder tier uses @everyone, which nobody can be given: pick a real role in ladder.tiers")
        elif role.managed:
            problems.append(
                f"ladder role @{role.name} belongs to an integration (a bot, boosts or subscriptions) and can never "
                "be granted: create a normal role for that tier in ladder.tiers"
            )
        elif role >= me.top_role:
            problems.append(
                f"role @{role.name} is above the bot's own role @{me.top_role.name}: move the "
                "bot's role higher in Server Settings → Roles"
            )
    return problems
