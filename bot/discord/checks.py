"""Permission checks enforced in code, not only by Discord's default member permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.i18n import N_

if TYPE_CHECKING:
    from bot.context import Services


class NotMaintainer(app_commands.CheckFailure):
    """The member is not a maintainer."""

    def __init__(self) -> None:
        super().__init__(N_("Only maintainers can use this command (Manage Server permission or the maintainer role)."))


class NotOwner(app_commands.CheckFailure):
    """The member is not one of the bot's owners."""

    def __init__(self) -> None:
        super().__init__(N_("Only the bot's owner can use this command."))


class WrongGuild(app_commands.CheckFailure):
    """The command was used outside the server Vestry serves."""

    def __init__(self) -> None:
        super().__init__(N_("Vestry only answers in the server it is set up for."))


def services_of(interaction: discord.Interaction) -> Services:
    """Find the services the bot was built with."""
    client: Any = interaction.client
    return client.services  # type: ignore[no-any-return]


def member_is_maintainer(member: discord.Member | discord.User, services: Services) -> bool:
    """Tell whether a member has Manage Server or the configured maintainer role."""
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    role_id = services.settings.discord.maintainer_role_id
    return role_id is not None and any(role.id == role_id for role in member.roles)


def audience(checks: list[Any]) -> str:
    """Say who may use a command, from the checks attached to it."""
    for check in checks:
        found = getattr(check, "vestry_audience", None)
        if found:
            return str(found)
    return "everyone"


def in_guild(interaction: discord.Interaction) -> bool:
    """Check that an interaction comes from the configured server."""
    if interaction.guild_id != services_of(interaction).settings.discord.guild_id:
        raise WrongGuild()
    return True


def maintainer_only() -> Any:
    """Restrict a command to maintainers."""

    def predicate(interaction: discord.Interaction) -> bool:
        in_guild(interaction)
        if not member_is_maintainer(interaction.user, services_of(interaction)):
            raise NotMaintainer()
        return True

    predicate.vestry_audience = "maintainers"  # type: ignore[attr-defined]
    return app_commands.check(predicate)


def owner_only() -> Any:
    """Restrict a command to the bot's owners (the application owner and configured owner ids)."""

    async def predicate(interaction: discord.Interaction) -> bool:
        services = services_of(interaction)
        client: Any = interaction.client
        if interaction.user.id in services.settings.discord.owner_ids or await client.is_owner(interaction.user):
            return True
        raise NotOwner()

    predicate.vestry_audience = "bot owner"  # type: ignore[attr-defined]
    return app_commands.check(predicate)
