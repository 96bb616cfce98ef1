"""The command tree and its one error handler."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.db import DatabaseError
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000


def message_for(error: BaseException) -> tuple[str, bool]:
    """Choose what to tell the member; the flag says whether it is a bug to log with an id."""
    if isinstance(error, UserFacingError):
        return error.message, False
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here.", False
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand the option value {str(error.value)[:100]!r}.", False
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} s.", False
    if isinstance(error, DatabaseError):  # already logged, with the cause, where the database raised it
        return (
            "Vestry can't save anything right now (its database is full, read-only or damaged); try again later.",
            False,
        )
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        # Commands out of step with Discord (just after an update), or used in a server Vestry does not serve.
        return "That command isn't available here right now; if it should be, a maintainer can run /vestry sync.", False
    return "", True


class VestryTree(app_commands.CommandTree):
    """A command tree whose error handler keeps users' mistakes apart from bugs."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Answer with a clear ephemeral message; log bugs with a short id."""
        original: BaseException = error
        if isinstance(error, app_commands.CommandInvokeError):
            original = error.original
        command = interaction.command.qualified_name if interaction.command else "?"
        await self.report(interaction, original, f"/{command}")

    async def report(self, interaction: discord.Interaction, error: BaseException, where: str) -> None:
        """The one bug reporter, for commands, buttons and modals alike: a member's mistake gets its message; a
        bug is logged with a short id that the member is shown, so a maintainer can find it."""
        text, is_bug = message_for(error)
        if is_bug:
            error_id = secrets.token_hex(4)
            log.error("error %s in %s", error_id, where, exc_info=error)
            text = f"Something went wrong on our side (error id `{error_id}`). The maintainers can find it in the log."
        await self.send_error(interaction, text)

    async def send_error(self, interaction: discord.Interaction, text: str) -> None:
        """Show an error message to the member only."""
        if len(text) > MAX_MESSAGE:
            # A message may quote what the member typed (up to 6000 characters): Discord refuses over 2000.
            text = text[: MAX_MESSAGE - 1] + "…"
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
                )
        except discord.HTTPException:
            log.warning("could not tell the member about an error", exc_info=True)
