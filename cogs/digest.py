"""The weekly digest: the scheduled post, its start-up catch-up, and /digest preview and /digest post."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from apscheduler.triggers.date import DateTrigger
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import maintainer_only
from bot.discord.render import send_reply
from bot.i18n import N_, lang
from bot.messages import Reply
from bot.services.digest import JOB, Digest, span_text

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)

PERIOD_HELP = N_('"this" (default: the period so far), "last" (the last finished one) or a date YYYY-MM-DD')

CATCH_UP_JOB = "digest.catch_up"


class DigestCog(commands.Cog, name="Digest"):
    """Post the community's week, on schedule or when a maintainer asks."""

    digest = app_commands.Group(name="digest", description="The weekly digest", guild_only=True)

    def __init__(self, bot: VestryBot, service: Digest) -> None:
        self.bot = bot
        self.service = service

    async def cog_load(self) -> None:
        """Schedule the digest and catch up a slot missed while the bot was down."""
        if self.bot.services.settings.digest.enabled:
            self.bot.services.jobs.add(JOB, self.service.run_scheduled, self.service.schedule.trigger)
            # A one-off job: the scheduler starts once the bot is ready, so this runs right after start-up.
            self.bot.services.jobs.add(CATCH_UP_JOB, self._catch_up, DateTrigger())

    async def cog_unload(self) -> None:
        """Unschedule the digest and stop a catch-up still running."""
        self.bot.services.jobs.remove(JOB)
        self.bot.services.jobs.remove(CATCH_UP_JOB)

    async def _catch_up(self) -> None:
        """Post a slot missed while the bot was down (within the grace period)."""
        # Through the job runner, so the catch-up is recorded and never overlaps a scheduled run.
        await self.bot.services.jobs.run(JOB)

    @digest.command(name="preview")
    @app_commands.describe(period=PERIOD_HELP)
    @maintainer_only()
    async def preview(self, interaction: discord.Interaction, period: str | None = None) -> None:
        """Show the digest of this or a past period, only to you."""
        self.service.period(period)  # a bad period is answered at once, before thinking
        await interaction.response.defer(ephemeral=True, thinking=True)
        await send_reply(interaction, await self.service.preview(period, lang(interaction.locale.value)))

    @digest.command(name="post")
    @app_commands.describe(period=PERIOD_HELP)
    @maintainer_only()
    async def post(self, interaction: discord.Interaction, period: str | None = None) -> None:
        """Post the digest in the digest channel now (the scheduled one still comes)."""
        self.service.period(period)
        await interaction.response.defer(ephemeral=True, thinking=True)
        posted = await self.service.post_now(period, request_id=str(interaction.id))
        span = span_text(posted.period, self.bot.services.settings.digest.timezone)
        await send_reply(interaction, Reply(content=f"The digest for {span} is on its way to <#{posted.channel_id}>."))


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(DigestCog(bot, bot.services.features.digest))
