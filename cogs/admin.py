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
from bot.i18n import ENGLISH, Lang, lang, say
from bot.messages import Reply
from bot.outbox import LaneState, retry_failed
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
        _outbox_line(report, speaker),
    ]
    if report.invitations is not None:
        invites = report.invitations
        values = {"sent": invites.sent, "pending": invites.pending, "failed": invites.failed}
        lines.append(
            speaker.gettext(
                "**Invitations on GitHub** {sent} sent, {pending} pending, {failed} failed; {celebrated} now say "
                "celebrated",
                celebrated=invites.celebrated,
                **values,
            )
            if invites.celebrated
            else speaker.gettext("**Invitations on GitHub** {sent} sent, {pending} pending, {failed} failed", **values)
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
    problems = "\n".join(f"⚠️ {say(problem, speaker)}" for problem in report.problems) or speaker.gettext(
        "No problems found."
    )
    fields.append({"name": speaker.gettext("Problems"), "value": problems[:1024], "inline": False})
    return {
        "title": speaker.gettext("Vestry status"),
        "description": "\n".join(lines),
        "fields": fields,
        "color": 0xE67E22 if report.problems else 0x2ECC71,
    }


def _outbox_line(report: StatusReport, speaker: Lang) -> str:
    """The outbox's line in /vestry status: what waits, since when, and how many failed."""
    values = {"waiting": report.outbox_waiting, "seconds": f"{report.outbox_oldest_seconds:.0f}"}
    if report.outbox_failed and report.outbox_waiting:
        return speaker.gettext(
            "**Outbox** {waiting} waiting, oldest {seconds}s; {failed} failed (`/vestry outbox`)",
            failed=report.outbox_failed,
            **values,
        )
    if report.outbox_failed:
        return speaker.gettext(
            "**Outbox** {waiting} waiting; {failed} failed (`/vestry outbox`)", failed=report.outbox_failed, **values
        )
    if report.outbox_waiting:
        return speaker.gettext("**Outbox** {waiting} waiting, oldest {seconds}s", **values)
    return speaker.gettext("**Outbox** {waiting} waiting", **values)


def _at(moment: datetime | None, speaker: Lang = ENGLISH) -> str:
    return speaker.gettext("an unknown time") if moment is None else f"<t:{int(moment.timestamp())}:R>"


def _fit(lines: list[str], total: int, empty: str, speaker: Lang = ENGLISH, limit: int = 1000) -> str:
    """Join as many lines as fit in an embed field, saying how many more there are."""
    shown: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in shown) + len(line) > limit - 40:
            break
        shown.append(line)
    if total > len(shown):
        shown.append(speaker.gettext("… and {count} more", count=speaker.number(total - len(shown))))
    return "\n".join(shown) or empty


def _waiting_line(lane: LaneState, speaker: Lang) -> str:
    label = say(lane_label(lane.lane), speaker)
    when = _at(lane.oldest, speaker)
    if not lane.last_error:
        return speaker.gettext("{lane}: {waiting} waiting since {when}", lane=label, waiting=lane.waiting, when=when)
    return speaker.ngettext(
        "{lane}: {waiting} waiting since {when}, {count} attempt, last error: {error}",
        "{lane}: {waiting} waiting since {when}, {count} attempts, last error: {error}",
        lane.attempts,
        lane=label,
        waiting=lane.waiting,
        when=when,
        error=lane.last_error[:80],
    )


def outbox_embed(report: OutboxReport, speaker: Lang = ENGLISH) -> dict[str, object]:
    """Render what waits in the outbox, per lane, and the failed entries a maintainer can retry."""
    waiting = [_waiting_line(lane, speaker) for lane in report.lanes]
    failed = [
        speaker.gettext(
            "**#{id}** {kind} ({lane}) failed {when}: {error}",
            id=row.id,
            kind=row.kind,
            lane=say(lane_label(row.lane), speaker),
            when=_at(row.failed_at, speaker),
            error=row.last_error[:80],
        )
        for row in report.failed
    ]
    fields = [
        {
            "name": speaker.gettext("Waiting, per lane"),
            "value": _fit(waiting, len(waiting), speaker.gettext("Nothing waiting."), speaker),
            "inline": False,
        },
        {
            "name": speaker.gettext(
                "Failed: {count} (newest first; retry with `/vestry outbox retry:<number>`)",
                count=report.failed_total,
            ),
            "value": _fit(failed, report.failed_total, speaker.gettext("None."), speaker),
            "inline": False,
        },
    ]
    return {
        "title": speaker.gettext("Vestry outbox"),
        "description": speaker.gettext(
            "Posts, DMs and role changes on their way to Discord. Each channel, member's DMs and member's roles is a "
            "lane: a failing lane holds no other."
        ),
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
            await interaction.followup.send(lang(interaction.locale.value).gettext("Commands synced."), ephemeral=True)

        return [status, outbox, sync]

    async def status(self, interaction: discord.Interaction) -> None:
        """Answer /vestry status."""
        report = await collect_status(self.bot.services, self.bot.check_permissions())
        latency = self.bot.latency * 1000 if math.isfinite(self.bot.latency) else None  # inf before the first ACK
        await send_reply(interaction, Reply(embeds=[status_embed(report, latency, lang(interaction.locale.value))]))

    async def outbox(self, interaction: discord.Interaction, retry: int | None) -> None:
        """Answer /vestry outbox: the report, or a failed entry retried."""
        services = self.bot.services
        speaker = lang(interaction.locale.value)
        if retry is None:
            report = await collect_outbox(services)
            await send_reply(interaction, Reply(embeds=[outbox_embed(report, speaker)]))
            return
        row = await retry_failed(services.db, retry, services.clock.now())
        text = speaker.gettext(
            "Outbox entry #{id} ({kind}, {lane}) will be tried again now.",
            id=row.id,
            kind=row.kind,
            lane=say(lane_label(row.lane), speaker),
        )
        await send_reply(interaction, Reply(text))


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(Admin(bot))
