"""Setup checks: what would make Discord refuse the bot's posts or role changes, one line each with the fix.

Each problem is a :class:`~bot.i18n.Notice`: English in the log, the maintainer's language in ``/vestry status``.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.i18n import N_, Notice

_CHANNEL_NEEDS = (  # the permissions' names as Discord's own settings show them in each language
    ("view_channel", N_("View Channel")),
    ("send_messages", N_("Send Messages")),
    ("embed_links", N_("Embed Links")),
    ("attach_files", N_("Attach Files")),
    # After a crash or timeout, a post that may have gone out is looked for before it is sent again.
    ("read_message_history", N_("Read Message History")),
)


def channel_problems(guild: discord.Guild, me: discord.Member, channels: dict[str, int | None]) -> list[Notice]:
    """List configured channels that are gone or that the bot cannot see or write in."""
    problems: list[Notice] = []
    for purpose, channel_id in channels.items():
        if channel_id is None:
            continue
        channel = guild.get_channel(channel_id)
        if channel is None:
            problems.append(
                Notice(
                    N_("the {purpose} channel {channel_id} does not exist: set discord.channels.{purpose}"),
                    purpose=purpose,
                    channel_id=channel_id,
                )
            )
            continue
        perms = channel.permissions_for(me)
        if not perms.view_channel:
            problems.append(
                Notice(
                    N_(
                        "the bot cannot see #{channel} ({purpose} channel): give its role View Channel there "
                        "(Edit Channel → Permissions)"
                    ),
                    channel=channel.name,
                    purpose=purpose,
                )
            )
            continue
        missing = [Notice(label) for flag, label in _CHANNEL_NEEDS if not getattr(perms, flag)]
        if missing:
            problems.append(
                Notice(
                    N_("missing {permissions} in #{channel} ({purpose} channel): allow them for the bot's role"),
                    permissions=missing,
                    channel=channel.name,
                    purpose=purpose,
                )
            )
    return problems


def tier_role_problems(guild: discord.Guild, me: discord.Member, role_ids: Iterable[int]) -> list[Notice]:
    """List ladder roles the bot can never grant: missing, @everyone, managed by an integration, or above it."""
    problems: list[Notice] = []
    for role_id in role_ids:
        role = guild.get_role(role_id)
        if role is None:
            problems.append(
                Notice(N_("ladder role {role_id} does not exist in the server: fix ladder.tiers"), role_id=role_id)
            )
        elif role.is_default():
            problems.append(
                Notice(N_("a ladder tier uses @everyone, which nobody can be given: pick a real role in ladder.tiers"))
            )
        elif role.managed:
            problems.append(
                Notice(
                    N_(
                        "ladder role @{role} belongs to an integration (a bot, boosts or subscriptions) and can never "
                        "be granted: create a normal role for that tier in ladder.tiers"
                    ),
                    role=role.name,
                )
            )
        elif role >= me.top_role:
            problems.append(
                Notice(
                    N_(
                        "role @{role} is above the bot's own role @{own}: move the bot's role higher in Server "
                        "Settings → Roles"
                    ),
                    role=role.name,
                    own=me.top_role.name,
                )
            )
    return problems
