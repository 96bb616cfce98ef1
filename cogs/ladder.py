"""/rank, /leaderboard, promotion approvals and the hourly role reconcile: the contributor ladder on Discord."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from apscheduler.triggers.interval import IntervalTrigger
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import NotMaintainer, in_guild, member_is_maintainer
from bot.discord.members import GatewayMembers, GatewayPacer
from bot.discord.render import allowed_mentions, embeds, send_reply, view
from bot.errors import UserFacingError
from bot.fit import fit_buttons, fit_content, fit_embeds
from bot.messages import Button, Reply, escape_markdown, mention
from bot.services.ladder import Board, Ladder, MemberState, TierProgress, parse_category, parse_period
from bot.services.ladder.posts import APPROVE, DECLINE

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)

JOB = "ladder.reconcile"
DECISION_PREFIX = "ladder"
PAGE_PREFIX = "lb"
GOLD = 0xF1C40F

CATEGORY_CHOICES = [
    app_commands.Choice(name="merged PRs", value="merged_prs"),
    app_commands.Choice(name="reviews", value="reviews"),
    app_commands.Choice(name="merges", value="merges"),
    app_commands.Choice(name="issues closed", value="issues_closed"),
    app_commands.Choice(name="kudos", value="kudos"),
]
PERIOD_CHOICES = [
    app_commands.Choice(name="week", value="week"),
    app_commands.Choice(name="month", value="month"),
    app_commands.Choice(name="year", value="year"),
    app_commands.Choice(name="all time", value="all"),
]


def rank_embed(progress: TierProgress, name: str) -> dict[str, object]:
    """Show a member's tier, the next one and exactly what is missing."""
    who = escape_markdown(name)
    if not progress.enabled or not progress.linked or progress.excluded:
        return {"title": f"{who} on the ladder", "description": progress.summary, "color": GOLD}
    lines = [f"**Tier** {progress.current or 'none yet'}"]
    if progress.next is None:
        lines.append("**Next** nothing: this is the top of the ladder")
    else:
        lines.append(f"**Next** {progress.next}")
        lines.append(f"**Missing** {'; '.join(progress.missing) or 'nothing'}")
        if progress.awaiting_approval:
            lines.append("A maintainer has been asked to approve it.")
    done = progress.contributions
    counts = (
        f"Merged PRs {done.merged_prs} · Reviews {done.reviews} · Merges {done.merges} · "
        f"Issues closed {done.issues_closed} · Kudos {done.kudos}"
    )
    return {
        "title": f"{who} on the ladder",
        "description": "\n".join(lines),
        "fields": [{"name": f"GitHub @{escape_markdown(progress.login or '?')}", "value": counts, "inline": False}],
        "color": GOLD,
    }


def board_embed(board: Board) -> dict[str, object]:
    """Show one page of the leaderboard and the viewer's own place."""
    lines = [
        f"**{entry.rank}.** {_who(entry.discord_id, entry.login)} — {entry.count} {board.noun(entry.count)}"
        for entry in board.entries
    ]
    if board.viewer is not None:
        mine = f"#{board.viewer.rank} with {board.viewer.count} {board.noun(board.viewer.count)}"
    elif not board.viewer_linked:
        mine = "Link your GitHub account with /link to appear here."
    else:
        mine = f"No {board.label} in {board.period_label} yet."
    return {
        "title": f"Leaderboard: {board.label}, {board.period_label}",
        "description": "\n".join(lines) or "Nobody yet. Be the first!",
        "fields": [{"name": "Your position", "value": mine, "inline": False}],
        "footer": {"text": f"Page {board.page + 1} of {board.pages}"},
        "color": GOLD,
    }


def board_buttons(board: Board) -> list[Button]:
    """Previous and Next, each carrying the page it opens."""
    base = f"{PAGE_PREFIX}:{board.category}:{board.period}"
    return [
        Button("Previous", custom_id=f"{base}:{board.page - 1}", disabled=board.page == 0),
        Button("Next", custom_id=f"{base}:{board.page + 1}", disabled=board.page + 1 >= board.pages),
    ]


def _who(discord_id: int | None, login: str | None) -> str:
    if discord_id is not None:
        return mention(discord_id)
    return escape_markdown(login or "unknown")


class LadderCog(commands.Cog, name="Ladder"):
    """The contributor ladder: ranks, the leaderboard, approvals and role repair."""

    def __init__(self, bot: VestryBot, ladder: Ladder) -> None:
        self.bot = bot
        self.ladder = ladder
        self.guild_id = bot.services.settings.discord.guild_id
        self.pacer = GatewayPacer()

    async def cog_load(self) -> None:
        """Schedule the reconcile job and route the ladder's buttons."""
        await self.ladder.prepare()
        every = self.bot.services.settings.ladder.reconcile_every
        self.bot.services.jobs.add(JOB, self.reconcile, IntervalTrigger(seconds=every.total_seconds()))
        self.bot.add_component_handler(DECISION_PREFIX, self.on_decision)
        self.bot.add_component_handler(PAGE_PREFIX, self.on_page)

    async def cog_unload(self) -> None:
        """Stop the job and the button routes."""
        self.bot.services.jobs.remove(JOB)
        self.bot.component_handlers.pop(DECISION_PREFIX, None)
        self.bot.component_handlers.pop(PAGE_PREFIX, None)

    async def reconcile(self) -> None:
        """Compare every linked member's roles with what they earned and repair the drift."""
        await self.ladder.reconcile(GatewayMembers(self.bot, self.guild_id, self.pacer))

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """Give a returning member their roles back at once (needs the members intent; else reconcile does it)."""
        if member.guild.id != self.guild_id or member.bot:
            return
        await self.ladder.member_joined(member.id, MemberState(frozenset(), member.joined_at))

    @app_commands.command(name="rank")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    @app_commands.describe(member="Whose rank to show (you when left out)")
    async def rank(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        """Show your tier on the contributor ladder, the next one and what is missing."""
        target = member or interaction.user
        if target.bot:
            raise UserFacingError("Bots are not on the ladder.")
        progress = await self.ladder.progress(self.guild_id, target.id)
        await send_reply(interaction, Reply(embeds=[rank_embed(progress, target.display_name)]))

    @app_commands.command(name="leaderboard")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    @app_commands.describe(category="What to count (merged PRs when left out)", period="Over what time (all time)")
    @app_commands.choices(category=CATEGORY_CHOICES, period=PERIOD_CHOICES)
    async def leaderboard(
        self, interaction: discord.Interaction, category: str | None = None, period: str | None = None
    ) -> None:
        """Show who contributed most: merged PRs, reviews, merges, issues closed or kudos."""
        board = await self.ladder.leaderboard.board(
            self.guild_id, parse_category(category), parse_period(period), 0, interaction.user.id
        )
        await send_reply(interaction, Reply(embeds=[board_embed(board)], buttons=board_buttons(board)))

    async def on_page(self, interaction: discord.Interaction, rest: str) -> None:
        """Turn a leaderboard page (custom_id ``lb:<category>:<period>:<page>``)."""
        category, period, page = [*rest.split(":"), "", "", ""][:3]
        try:
            number = int(page)
        except ValueError:
            raise UserFacingError("That leaderboard button is out of date; run /leaderboard again.") from None
        board = await self.ladder.leaderboard.board(
            self.guild_id, parse_category(category), parse_period(period), number, interaction.user.id
        )
        await interaction.response.edit_message(
            embeds=embeds(fit_embeds([board_embed(board)])),
            view=view(fit_buttons(board_buttons(board))),
            allowed_mentions=allowed_mentions(),
        )

    async def on_decision(self, interaction: discord.Interaction, rest: str) -> None:
        """Approve or decline a promotion (custom_id ``ladder:approve:<request id>``); maintainers only."""
        in_guild(interaction)
        if not member_is_maintainer(interaction.user, self.bot.services):
            raise NotMaintainer()
        action, _, raw = rest.partition(":")
        if action not in (APPROVE, DECLINE) or not raw.isdigit():
            raise UserFacingError("That button is out of date.")
        decision = await self.ladder.decide(self.guild_id, int(raw), approve=action == APPROVE, by=interaction.user.id)
        await interaction.response.edit_message(
            content=fit_content(decision.text), view=None, allowed_mentions=allowed_mentions()
        )


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(LadderCog(bot, bot.services.features.ladder))
