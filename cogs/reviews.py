"""Review nudges in Discord: the reminder job, /reviews, /away, /back, /nudges dm and the reminder's buttons."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from discord import app_commands
from discord.ext import commands

from bot.buttons import NudgeClick
from bot.discord.buttons import persistent
from bot.discord.checks import in_guild, member_is_maintainer
from bot.discord.render import send_reply
from bot.fit import fit_choices
from bot.i18n import lang
from bot.messages import Reply
from bot.schedule import crontab_trigger
from bot.services.reviews import (
    Clicker,
    Mode,
    ReviewQueue,
    away_text,
    back_text,
    dm_text,
    on_it_text,
    queue_reply,
    snooze_text,
)

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)

NUDGE_JOB = "reviews.nudge"
RELEASE_JOB = "reviews.after_quiet"
CATCH_UP_JOB = "reviews.catch_up"


class Reviews(commands.Cog):
    """Remind reviewers of pull requests waiting on them."""

    nudges = app_commands.Group(name="nudges", description="Your review reminders", guild_only=True)

    def __init__(self, bot: VestryBot, service: ReviewQueue) -> None:
        self.bot = bot
        self.service = service
        self.buttons = (persistent(NudgeClick, self.on_button),)

    async def cog_load(self) -> None:
        """Route the buttons and schedule the reminder (and a catch-up on a slot missed while the bot was down)."""
        self.bot.add_dynamic_items(*self.buttons)
        settings = self.bot.services.settings.reviews
        if not settings.enabled:
            return
        jobs = self.bot.services.jobs
        jobs.add(NUDGE_JOB, self.nudge_job, crontab_trigger(settings.schedule, settings.timezone))
        if settings.quiet_hours is not None:
            hour, minute = settings.quiet_hours.end.split(":")
            jobs.add(RELEASE_JOB, self.release_job, CronTrigger(hour=hour, minute=minute, timezone=settings.timezone))
        # Once the scheduler starts (the bot is ready), post a slot missed while the bot was down.
        jobs.add(CATCH_UP_JOB, self.catch_up_job, DateTrigger())

    async def cog_unload(self) -> None:
        """Unschedule the jobs and stop routing the buttons."""
        self.bot.services.jobs.remove(NUDGE_JOB)
        self.bot.services.jobs.remove(RELEASE_JOB)
        self.bot.services.jobs.remove(CATCH_UP_JOB)
        self.bot.remove_dynamic_items(*self.buttons)

    async def nudge_job(self) -> None:
        """Post the reminder for the current slot (the scheduled run, or a manual one)."""
        await self._run("scheduled")

    async def catch_up_job(self) -> None:
        """Post a slot missed while the bot was down, if it is within the grace period."""
        await self._run("catch-up")

    async def release_job(self) -> None:
        """Post a reminder that quiet hours held back."""
        await self._run("release")

    async def _run(self, mode: Mode) -> None:
        result = await self.service.nudge(mode)
        log.info("review reminder (%s): %s for slot %s", mode, result.outcome, result.slot)

    @app_commands.command(name="reviews")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    @app_commands.describe(member="Only reviews waiting on this member", repo="Only this repository")
    async def reviews(
        self, interaction: discord.Interaction, member: discord.Member | None = None, repo: str | None = None
    ) -> None:
        """Show the pull requests waiting for review (only you see the answer)."""
        roles = [role.id for role in member.roles] if member is not None else []
        snapshot = await self.service.queue(member=member.id if member else None, member_roles=roles, repo=repo)
        settings = self.bot.services.settings.reviews
        who = member.display_name if member is not None else None
        reply = queue_reply(
            snapshot,
            max_rows=settings.max_rows,
            approvals_needed=settings.approvals_needed,
            who=who,
            speaker=lang(interaction.locale.value),
        )
        await send_reply(interaction, reply)

    @reviews.autocomplete("repo")
    async def repo_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Offer the followed repositories."""
        repos = self.bot.services.settings.github.repositories
        matching = [(repo, repo) for repo in repos if current.lower() in repo.lower()]
        return [app_commands.Choice(name=name, value=value) for name, value in fit_choices(matching)]

    @app_commands.command(name="away")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    @app_commands.describe(until='Your last day away (YYYY-MM-DD) or a duration such as "3d" or "2w"')
    async def away(self, interaction: discord.Interaction, until: str) -> None:
        """Go on leave: review reminders won't mention you until then."""
        end, linked = await self.service.set_away(interaction.user.id, until)
        await send_reply(interaction, Reply(content=away_text(end, linked, lang(interaction.locale.value))))

    @app_commands.command(name="back")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def back(self, interaction: discord.Interaction) -> None:
        """End your leave: review reminders mention you again."""
        was_away = await self.service.back(interaction.user.id)
        await send_reply(interaction, Reply(content=back_text(was_away, lang(interaction.locale.value))))

    @nudges.command(name="dm")
    @app_commands.check(in_guild)
    @app_commands.describe(dm="on: also get your own list by direct message; off: the channel only")
    async def nudges_dm(self, interaction: discord.Interaction, dm: Literal["on", "off"]) -> None:
        """Choose whether review reminders also reach you by direct message."""
        linked = await self.service.set_dm(interaction.user.id, dm == "on")
        await send_reply(interaction, Reply(content=dm_text(dm == "on", linked, lang(interaction.locale.value))))

    async def on_button(self, interaction: discord.Interaction, click: NudgeClick) -> None:
        """Handle "Snooze 1 day" and "On it" (only the reviewer or a maintainer may press them)."""
        key = click.key
        user = interaction.user
        roles = frozenset(role.id for role in user.roles) if isinstance(user, discord.Member) else frozenset()
        clicker = Clicker(user.id, member_is_maintainer(user, self.bot.services), roles)
        speaker = lang(interaction.locale.value)
        if click.action == "snooze":
            target, until = await self.service.snooze(key, clicker)
            await send_reply(interaction, Reply(content=snooze_text(target.name, until, speaker)))
        else:
            plan = await self.service.plan_on_it(key, clicker)
            by = user.id if user.id != plan.target.discord_id else None
            text = on_it_text(plan.target.name, plan.pulls, plan.until, by, speaker)
            reply = Reply(content=text, ephemeral=not plan.pulls)
            await send_reply(interaction, reply)
            await self.service.record_on_it(plan)  # only once the member has been told, so nothing drops silently


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(Reviews(bot, bot.services.features.reviews))
