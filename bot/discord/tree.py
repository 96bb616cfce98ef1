"""The command tree and its one error handler."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.db import DatabaseError
from bot.errors import UserFacingError
from bot.i18n import ENGLISH, N_, Lang, lang

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000


def message_for(error: BaseException, speaker: Lang = ENGLISH) -> tuple[str, bool]:
    """Choose what to tell the member, in their language; the flag says whether it is a bug to log with an id."""
    if isinstance(error, UserFacingError):
        return error.translated(speaker), False
    if isinstance(error, app_commands.CheckFailure):
        return speaker.gettext(str(error)) if str(error) else speaker.gettext("You can't use this command here."), False
    if isinstance(error, app_commands.TransformerError):
        value = repr(str(error.value)[:100])
        return speaker.gettext("I couldn't understand the option value {value}.", value=value), False
    if isinstance(error, app_commands.CommandOnCooldown):
        seconds = speaker.number(round(error.retry_after))
        return speaker.gettext("Slow down: try again in {seconds} s.", seconds=seconds), False
    if isinstance(error, DatabaseError):  # already logged, with the cause, where the database raised it
        text = N_("Vestry can't save anything right now (its database is full, read-only or damaged); try again later.")
        return speaker.gettext(text), False
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        # Commands out of step with Discord (just after an update), or used in a server Vestry does not serve.
        text = N_("That command isn't available here right now; if it should be, a maintainer can run /vestry sync.")
        return speaker.gettext(text), False
    return "", True


def bug_message(speaker: Lang, error_id: str | None = None) -> str:
    """Tell the member that something broke on Vestry's side, with the log's error id when there is one."""
    if error_id is None:
        return speaker.gettext("Something went wrong on our side; the maintainers can find it in the log.")
    return speaker.gettext(
        "Something went wrong on our side (error id `{error_id}`). The maintainers can find it in the log.",
        error_id=error_id,
    )


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
        """The one bug reporter, for commands, buttons and modals alike, in the member's language: a member's
        mistake gets its message; a bug is logged with a short id that the member is shown, so a maintainer can
        find it."""
        speaker = lang(interaction.locale.value)
        text, is_bug = message_for(error, speaker)
        if is_bug:
            error_id = secrets.token_hex(4)
            log.error("error %s in %s", error_id, where, exc_info=error)
            text = bug_message(speaker, error_id)
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
