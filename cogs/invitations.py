"""Invitations in Discord: the sender's lifetime and /vestry invitation preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import maintainer_only
from bot.discord.render import send_reply
from bot.i18n import ENGLISH, Lang, lang
from bot.messages import Reply

if TYPE_CHECKING:
    from bot.discord.client import VestryBot
    from bot.services.invitations import Invitations

PREVIEW_LIMIT = 3900  # an embed description holds 4096 characters; room for the fence and the note


def preview_embed(text: str, *, enabled: bool, speaker: Lang = ENGLISH) -> dict[str, object]:
    """Show the comment's Markdown source as maintainers will see it posted (fenced, so nothing renders); the comment
    itself is the one GitHub shows, so only the title and the note are in the maintainer's language."""
    shown = text.replace("```", "`\u200b``")
    if len(shown) > PREVIEW_LIMIT:
        shown = shown[: PREVIEW_LIMIT - 1] + "…"
    note = (
        speaker.gettext("Posted once on each first-timer's pull request.")
        if enabled
        else speaker.gettext("Invitations are off: set `enabled = true` in `[invitations]` to post them.")
    )
    return {
        "title": speaker.gettext("Invitation preview"),
        "description": f"```md\n{shown}\n```",
        "footer": {"text": note},
        "color": 0x5865F2,
    }


class InvitationCommands(commands.Cog, name="Invitations"):
    """Invite first-time contributors to the Discord from their pull request."""

    def __init__(self, bot: VestryBot, invitations: Invitations) -> None:
        self.bot = bot
        self.invitations = invitations
        self.group = self.invitation_group()

    async def cog_load(self) -> None:
        """Start posting invitations and add /vestry invitation."""
        await self.invitations.start()
        self.bot.add_vestry_commands(self.group)

    async def cog_unload(self) -> None:
        """Stop posting invitations; take /vestry invitation off."""
        self.bot.remove_vestry_commands(self.group)
        await self.invitations.stop()

    def invitation_group(self) -> app_commands.Group:
        """Build /vestry invitation, bound to this cog."""
        group = app_commands.Group(name="invitation", description="The invitation posted on first pull requests")

        @group.command(name="preview")
        @maintainer_only()
        async def preview(interaction: discord.Interaction) -> None:
            """Show the invitation comment as it would be posted on a first pull request."""
            await self.show_preview(interaction)

        return group

    async def show_preview(self, interaction: discord.Interaction) -> None:
        """Answer with the rendered invitation (only the maintainer sees it)."""
        text = self.invitations.preview()
        speaker = lang(interaction.locale.value)
        embed = preview_embed(text, enabled=self.invitations.enabled, speaker=speaker)
        await send_reply(interaction, Reply(embeds=[embed]))


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(InvitationCommands(bot, bot.services.features.invitations))
