"""Maintainer commands under /vestry: status, outbox and sync (other cogs add their own subcommands)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import maintainer_only, owner_only
from bot.discord.render import send_reply
from bot.i18n import ENGLISH, Lang, lang
from bot.messages import Reply
from bot.outbox import retry_failed
from bot.status import OutboxReport, StatusReport, collect_outbox, collect_status, lane_label
from bot.timeutil import parse_iso

if TYPE_CHECKING:
    from bot.discord.client import VestryBot


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"


def _when(stored: str | None, speaker: Lang = ENGLISH) -> str:
    """Show a stored time as a Discord timestamp ("3 minutes ago" in each member's own language)."""
    moment = parse_iso(stored)
    return speaker.gettext("never") if moment is None else f"<t:{int(moment.timestamp())}:R>"


def status_embed(report: StatusReport, latency_ms: float | None, speaker: Lang = ENGLISH) -> dict[str, object]:
    """Render the status report as an embed."""
    rate = speaker.gettext("unknown") if report.rate_limit_remaining is None else str(report.rate_limit_remaining)
    lines = [
        speaker.gettext("**Version** {version}", version=report.version),
        speaker.gettext("**Uptime** {uptime}", uptime=_duration(report.uptime)),
        speaker.gettext("**Gateway latency** n/a")
        if latency_ms is None
        else speaker.gettext("**Gateway latency** {ms} ms", ms=f"{latency_ms:.0f}"),
        speaker.gettext("**Database** {size} KiB", size=f"{report.database_bytes / 1024:.0f}"),
        speaker.gettext("**GitHub rate limit left** {rate}", rate=rate),
        speaker.gettext("**Webhook deliveries (last hour)** {count}", count=report.webhook_deliveries_last_hour),
        f"**Outbox** {report.outbox_waiting} waiting"
        + (f", oldest {report.outbox_oldest_seconds:.0f}s" if report.outbox_waiting else "")
        + (f"; {report.outbox_failed} failed (`/vestry outbox`)" if report.outbox_failed else ""),
    ]
    if report.invitations is not None:
        invites = report.invitations
        lines.append(
            f"**Invitations on GitHub** {invites.sent} sent, {invites.pending} pending, {invites.failed} failed"
            + (f"; {invites.celebrated} now say celebrated" if invites.celebrated else "")
        )
    jobs = [
        speaker.gettext("`{job}` last run {when}", job=job.name, when=_when(job.last_finish, speaker))
        if job.last_ok in (None, True)
        else speaker.gettext(
            "`{job}` last run {when} — failed: {error}",
            job=job.name,
            when=_when(job.last_finish, speaker),
            error=job.last_error,
        )
        for job in report.jobs
    ]
    fields = [
        {"name": speaker.gettext("Jobs"), "value": "\n".join(jobs)[:1024] or speaker.gettext("none"), "inline": False}
    ]
    problems = "\n".join(f"⚠️ {problem}" for problem in report.problems) or speaker.gettext("No problems found.")
    fields.append({"name": speaker.gettext("Problems"), "value": problems[:1024], "inline": False})
    return {
        "title": speaker.gettext("Vestry status"),
        "description": "\n".join(lines),
        "fields": fields,
        "color": 0xE67E22 if report.problems else 0x2ECC71,
    }


def _at(moment: datetime | None) -> str:
    return "an unknown time" if moment is None else f"<t:{int(moment.timestamp())}:R>"


def _fit(lines: list[str], total: int, empty: str, limit: int = 1000) -> str:
    """Join as many lines as fit in an embed field, saying how many more there are."""
    shown: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in shown) + len(line) > limit - 40:
            break
        shown.append(line)
    if total > len(shown):
        shown.append(f"… and {total - len(shown)} more")
    return "\n".join(shown) or empty


def outbox_embed(report: OutboxReport) -> dict[str, object]:
    """Render what waits in the outbox, per lane, and the failed entries a maintainer can retry."""
    waiting = [
        f"{lane_label(lane.lane)}: {lane.waiting} waiting since {_at(lane.oldest)}"
        + (f", {lane.attempts} attempts, last error: {lane.last_error[:80]}" if lane.last_error else "")
        for lane in report.lanes
    ]
    failed = [
        f"**#{row.id}** {row.kind} ({lane_label(row.lane)}) failed {_at(row.failed_at)}: {row.last_error[:80]}"
        for row in report.failed
    ]
    fields = [
        {"name": "Waiting, per lane", "value": _fit(waiting, len(waiting), "Nothing waiting."), "inline": False},
        {
            "name": f"Failed: {report.failed_total} (newest first; retry with `/vestry outbox retry:<number>`)",
            "value": _fit(failed, report.failed_total, "None."),
            "inline": False,
        },
    ]
    return {
        "title": "Vestry outbox",
        "description": "Posts, DMs and role changes on their way to Discord. Each channel, member's DMs and member's "
        "roles is a lane: a failing lane holds no other.",
        "fields": fields,
        "color": 0xE67E22 if report.failed_total else 0x2ECC71,
    }


class Admin(commands.Cog):
    """Maintainer tools: /vestry status, outbox and sync."""

    def __init__(self, bot: VestryBot) -> None:
        self.bot = bot
        self.commands = self._build()

    async def cog_load(self) -> None:
        """Add this cog's subcommands to /vestry."""
        self.bot.add_vestry_commands(*self.commands)

    async def cog_unload(self) -> None:
        """Take them off again."""
        self.bot.remove_vestry_commands(*self.commands)

    def _build(self) -> list[app_commands.Command[Any, ..., None]]:
        @app_commands.command(name="status")
        @maintainer_only()
        async def status(interaction: discord.Interaction) -> None:
            """Show the bot's health: uptime, GitHub rate limit, jobs and setup problems."""
            await self.status(interaction)

        @app_commands.command(name="outbox")
        @app_commands.describe(retry="The number of a failed entry to try again")
        @maintainer_only()
        async def outbox(
            interaction: discord.Interaction, retry: app_commands.Range[int, 1, 2**53 - 1] | None = None
        ) -> None:
            """Show what waits or failed on its way to Discord, per lane; retry a failed entry."""
            await self.outbox(interaction, retry)

        @app_commands.command(name="sync")
        @owner_only()
        async def sync(interaction: discord.Interaction) -> None:
            """Sync the slash commands to this server now (bot owner only)."""
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self.bot.sync_commands(force=True)
            await interaction.followup.send("Commands synced.", ephemeral=True)

        return [status, outbox, sync]

    async def status(self, interaction: discord.Interaction) -> None:
        """Answer /vestry status."""
        report = await collect_status(self.bot.services, self.bot.check_permissions())
        latency = self.bot.latency * 1000 if math.isfinite(self.bot.latency) else None  # inf before the first ACK
        await send_reply(interaction, Reply(embeds=[status_embed(report, latency, lang(interaction.locale.value))]))

    async def outbox(self, interaction: discord.Interaction, retry: int | None) -> None:
        """Answer /vestry outbox: the report, or a failed entry retried."""
        services = self.bot.services
        if retry is None:
            report = await collect_outbox(services)
            await send_reply(interaction, Reply(embeds=[outbox_embed(report)]))
            return
        row = await retry_failed(services.db, retry, services.clock.now())
        await send_reply(
            interaction,
            Reply(f"Outbox entry #{row.id} ({row.kind}, {lane_label(row.lane)}) will be tried again now."),
        )


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(Admin(bot))
