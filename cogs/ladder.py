"""/rank, /leaderboard, promotion approvals and the hourly role reconcile: the contributor ladder on Discord."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from apscheduler.triggers.interval import IntervalTrigger
from discord import app_commands
from discord.ext import commands

from bot.buttons import PageClick, PromotionClick
from bot.discord.buttons import persistent
from bot.discord.checks import NotMaintainer, in_guild, member_is_maintainer
from bot.discord.members import GatewayMembers, GatewayPacer
from bot.discord.render import allowed_mentions, embeds, send_reply, view
from bot.errors import UserFacingError
from bot.fit import fit_buttons, fit_content, fit_embeds
from bot.i18n import ENGLISH, N_, Lang, lang
from bot.i18n.server import posts_lang
from bot.messages import Button, Reply, escape_markdown, mention
from bot.services.ladder import Board, Ladder, MemberState, TierProgress, parse_category, parse_period

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)

JOB = "ladder.reconcile"
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

# The leaderboard's categories and periods as its title names them.
CATEGORY_LABELS = {
    "merged_prs": N_("merged PRs"),
    "reviews": N_("reviews"),
    "merges": N_("merges"),
    "issues_closed": N_("issues closed"),
    "kudos": N_("kudos"),
}
PERIOD_LABELS = {
    "week": N_("the last 7 days"),
    "month": N_("the last 30 days"),
    "year": N_("the last 365 days"),
    "all": N_("all time"),
}


def amount(category: str, count: int, speaker: Lang) -> str:
    """Say a count of one category with its plural form: "1 merged PR", "2 merged PRs"."""
    if category == "reviews":
        return speaker.ngettext("{count} review", "{count} reviews", count)
    if category == "merges":
        return speaker.ngettext("{count} merge", "{count} merges", count)
    if category == "issues_closed":
        return speaker.ngettext("{count} issue closed", "{count} issues closed", count)
    if category == "kudos":
        return speaker.ngettext("{count} kudos", "{count} kudos", count)
    return speaker.ngettext("{count} merged PR", "{count} merged PRs", count)


def rank_embed(progress: TierProgress, name: str, speaker: Lang = ENGLISH) -> dict[str, object]:
    """Show a member's tier, the next one and exactly what is missing."""
    title = speaker.gettext("{name} on the ladder", name=escape_markdown(name))
    if not progress.enabled or not progress.linked or progress.excluded:
        return {"title": title, "description": progress_summary(progress, speaker), "color": GOLD}
    lines = [
        speaker.gettext("**Tier** {tier}", tier=progress.current)
        if progress.current
        else speaker.gettext("**Tier** none yet")
    ]
    if progress.next is None:
        lines.append(speaker.gettext("**Next** nothing: this is the top of the ladder"))
    else:
        lines.append(speaker.gettext("**Next** {tier}", tier=progress.next))
        if progress.missing:
            lines.append(speaker.gettext("**Missing** {needs}", needs="; ".join(progress.missing)))
        else:
            lines.append(speaker.gettext("**Missing** nothing"))
        if progress.awaiting_approval:
            lines.append(speaker.gettext("A maintainer has been asked to approve it."))
    done = progress.contributions
    counts = speaker.gettext(
        "Merged PRs {merged_prs} · Reviews {reviews} · Merges {merges} · Issues closed {issues_closed} · Kudos {kudos}",
        merged_prs=speaker.number(done.merged_prs),
        reviews=speaker.number(done.reviews),
        merges=speaker.number(done.merges),
        issues_closed=speaker.number(done.issues_closed),
        kudos=speaker.number(done.kudos),
    )
    return {
        "title": title,
        "description": "\n".join(lines),
        "fields": [{"name": f"GitHub @{escape_markdown(progress.login or '?')}", "value": counts, "inline": False}],
        "color": GOLD,
    }


def progress_summary(progress: TierProgress, speaker: Lang) -> str:
    """Say why a member has no tier to show: the ladder is off, they are not linked, or their account is excluded."""
    if not progress.enabled:
        return speaker.gettext("The contributor ladder is turned off.")
    if not progress.linked:
        return speaker.gettext("Not on the ladder yet: link a GitHub account with /link.")
    return speaker.gettext("This GitHub account is a bot or ignored, so it is not on the ladder.")


def board_embed(board: Board, speaker: Lang = ENGLISH) -> dict[str, object]:
    """Show one page of the leaderboard and the viewer's own place."""
    category = CATEGORY_LABELS[board.category]
    lines = [
        speaker.gettext(
            "**{rank}.** {who} — {amount}",
            rank=entry.rank,
            who=_who(entry.discord_id, entry.login, speaker),
            amount=amount(board.category, entry.count, speaker),
        )
        for entry in board.entries
    ]
    if board.viewer is not None:
        mine = speaker.gettext(
            "#{rank} with {amount}",
            rank=board.viewer.rank,
            amount=amount(board.category, board.viewer.count, speaker),
        )
    elif not board.viewer_linked:
        mine = speaker.gettext("Link your GitHub account with /link to appear here.")
    else:
        mine = speaker.gettext(
            "Nothing counted for you yet ({category}, {period}).",
            category=speaker.gettext(category),
            period=speaker.gettext(PERIOD_LABELS[board.period]),
        )
    return {
        "title": speaker.gettext(
            "Leaderboard: {category}, {period}",
            category=speaker.gettext(category),
            period=speaker.gettext(PERIOD_LABELS[board.period]),
        ),
        "description": "\n".join(lines) or speaker.gettext("Nobody yet. Be the first!"),
        "fields": [{"name": speaker.gettext("Your position"), "value": mine, "inline": False}],
        "footer": {
            "text": speaker.gettext(
                "Page {page} of {pages}", page=speaker.number(board.page + 1), pages=speaker.number(board.pages)
            )
        },
        "color": GOLD,
    }


def board_buttons(board: Board, speaker: Lang = ENGLISH) -> list[Button]:
    """Previous and Next, each carrying the page it opens."""
    previous = PageClick(board.category, board.period, board.page - 1).custom_id()
    following = PageClick(board.category, board.period, board.page + 1).custom_id()
    return [
        Button(speaker.gettext("Previous"), custom_id=previous, disabled=board.page == 0),
        Button(speaker.gettext("Next"), custom_id=following, disabled=board.page + 1 >= board.pages),
    ]


def _who(discord_id: int | None, login: str | None, speaker: Lang) -> str:
    if discord_id is not None:
        return mention(discord_id)
    return escape_markdown(login) if login else speaker.gettext("unknown")


class LadderCog(commands.Cog, name="Ladder"):
    """The contributor ladder: ranks, the leaderboard, approvals and role repair."""

    def __init__(self, bot: VestryBot, ladder: Ladder) -> None:
        self.bot = bot
        self.ladder = ladder
        self.guild_id = bot.services.settings.discord.guild_id
        self.pacer = GatewayPacer()
        self.buttons = (persistent(PromotionClick, self.on_decision), persistent(PageClick, self.on_page))

    async def cog_load(self) -> None:
        """Schedule the reconcile job and route the ladder's buttons."""
        await self.ladder.prepare()
        every = self.bot.services.settings.ladder.reconcile_every
        self.bot.services.jobs.add(JOB, self.reconcile, IntervalTrigger(seconds=every.total_seconds()))
        self.bot.add_dynamic_items(*self.buttons)

    async def cog_unload(self) -> None:
        """Stop the job and the button routes."""
        self.bot.services.jobs.remove(JOB)
        self.bot.remove_dynamic_items(*self.buttons)

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
            raise UserFacingError(N_("Bots are not on the ladder."))
        speaker = lang(interaction.locale.value)
        progress = await self.ladder.progress(self.guild_id, target.id, speaker)
        await send_reply(interaction, Reply(embeds=[rank_embed(progress, target.display_name, speaker)]))

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
        speaker = lang(interaction.locale.value)
        reply = Reply(embeds=[board_embed(board, speaker)], buttons=board_buttons(board, speaker))
        await send_reply(interaction, reply)

    async def on_page(self, interaction: discord.Interaction, click: PageClick) -> None:
        """Turn a leaderboard page."""
        board = await self.ladder.leaderboard.board(
            self.guild_id, parse_category(click.category), parse_period(click.period), click.page, interaction.user.id
        )
        speaker = lang(interaction.locale.value)
        await interaction.response.edit_message(
            embeds=embeds(fit_embeds([board_embed(board, speaker)])),
            view=view(fit_buttons(board_buttons(board, speaker))),
            allowed_mentions=allowed_mentions(),
        )

    async def on_decision(self, interaction: discord.Interaction, click: PromotionClick) -> None:
        """Approve or decline a promotion; maintainers only."""
        in_guild(interaction)
        if not member_is_maintainer(interaction.user, self.bot.services):
            raise NotMaintainer()
        decision = await self.ladder.decide(
            self.guild_id, click.request_id, approve=click.approve, by=interaction.user.id
        )
        await interaction.response.edit_message(
            content=fit_content(decision.say(await posts_lang(self.bot.services.db, self.bot.services.settings))),
            view=None,
            allowed_mentions=allowed_mentions(),
        )


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(LadderCog(bot, bot.services.features.ladder))
