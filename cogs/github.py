"""GitHub ingestion in Discord: the poll job and /vestry backfill with a progress message."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from apscheduler.triggers.interval import IntervalTrigger
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import maintainer_only
from bot.discord.tokens import can_edit
from bot.errors import UserFacingError
from bot.fit import fit_content
from bot.github.backfill import BackfillProgress
from bot.github.types import GitHubError, GraphQLFailed, RateLimited
from bot.i18n import ENGLISH, N_, Lang, lang
from bot.messages import OutMessage, mention
from bot.outbox import enqueue_message

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)
SAFETY_NET_POLL = timedelta(hours=1)


def progress_text(progress: BackfillProgress, speaker: Lang = ENGLISH) -> str:
    """Describe a backfill's progress in one message: what is imported, then the GitHub budget, a line each."""
    counts = {
        "repo": progress.repo,
        "phase": progress.phase,
        "prs": progress.prs,
        "reviews": progress.reviews,
        "issues": progress.issues,
        "stars": progress.stars,
    }
    lines = [
        speaker.gettext(
            "Importing **{repo}** ({phase}): {prs} of {total} pull requests, {reviews} reviews, {issues} issues, "
            "{stars} stars.",
            total=progress.total_prs,
            **counts,
        )
        if progress.total_prs
        else speaker.gettext(
            "Importing **{repo}** ({phase}): {prs} pull requests, {reviews} reviews, {issues} issues, {stars} stars.",
            **counts,
        ),
        speaker.gettext("GitHub requests: {count}", count=progress.requests),
    ]
    if progress.rate_limit_remaining is not None:
        lines.append(speaker.gettext("Rate limit left: {count}", count=progress.rate_limit_remaining))
    if progress.eta_seconds:
        lines.append(speaker.gettext("About {seconds} s left.", seconds=f"{progress.eta_seconds:.0f}"))
    return "\n".join(lines)


class GitHub(commands.Cog):
    """Keep the ledger in step with GitHub."""

    def __init__(self, bot: VestryBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.backfill = self._backfill_command()

    async def cog_load(self) -> None:
        """Schedule polling (or the hourly safety-net poll in webhook mode) and add /vestry backfill."""
        settings = self.services.settings.github
        every = settings.poll_interval if settings.poll else SAFETY_NET_POLL
        if self.services.poller is not None:
            self.services.jobs.add("github.poll", self.poll, IntervalTrigger(seconds=every.total_seconds()))
        if self.services.backfill is not None:
            self.services.jobs.add("github.backfill", self.resume_backfills, IntervalTrigger(minutes=1))
        self.bot.add_vestry_commands(self.backfill)

    async def cog_unload(self) -> None:
        """Stop polling; take /vestry backfill off."""
        self.bot.remove_vestry_commands(self.backfill)
        self.services.jobs.remove("github.poll")
        self.services.jobs.remove("github.backfill")

    async def resume_backfills(self) -> None:
        """Continue backfills that stopped at a spent rate limit, once it has reset."""
        for report in await self.services.backfill.resume_waiting():
            log.info("resumed backfill of %s: %d PRs, %d reviews", report.repo, report.prs, report.reviews)

    async def poll(self) -> None:
        """Poll every followed repository once (as a GitHub App: first, what it is installed on; a 304 if unchanged)."""
        following = self.services.app_following
        if following is not None:
            await following.refresh(self.services.github)
        report = await self.services.poller.poll()
        if report.errors:
            log.warning("poll finished with problems: %s", "; ".join(report.errors))

    def _backfill_command(self) -> app_commands.Command[Any, ..., None]:
        """Build /vestry backfill, bound to this cog."""

        @app_commands.command(name="backfill")
        @app_commands.describe(repo="owner/name of one followed repository (all of them when left out)")
        @maintainer_only()
        async def backfill(interaction: discord.Interaction, repo: str | None = None) -> None:
            """Import the history of the followed repositories (counted for ranks, never announced)."""
            await self.run_backfill(interaction, repo)

        return backfill

    async def run_backfill(self, interaction: discord.Interaction, repo: str | None) -> None:
        """Run the backfill, editing one progress message as it goes."""
        followed = self.services.repos.names() or self.services.settings.github.repositories
        if repo is not None and self.services.repos.find(repo) is not None:
            repo = self.services.repos.canonical(repo)
        if repo is not None and repo.lower() not in {r.lower() for r in followed}:
            raise UserFacingError(
                N_("{repo} is not a followed repository. Followed: {followed}."),
                repo=repr(repo[:100]),
                followed=", ".join(followed),
            )
        repos = [r for r in followed if repo is None or r.lower() == repo.lower()]
        await interaction.response.defer(ephemeral=True, thinking=True)
        speaker = lang(interaction.locale.value)
        last_edit = 0.0
        clock = self.services.clock

        async def show(progress: BackfillProgress) -> None:
            nonlocal last_edit
            if time.monotonic() - last_edit < 2 or not can_edit(interaction, clock.now()):
                return
            last_edit = time.monotonic()
            try:
                await interaction.edit_original_response(content=fit_content(progress_text(progress, speaker)))
            except discord.HTTPException:
                log.debug("could not edit the backfill progress message", exc_info=True)

        lines = await self._backfill_lines(repos, show, speaker)
        await self._finish(interaction, "\n".join([speaker.gettext("Backfill finished."), *lines]))

    async def _backfill_lines(
        self, repos: list[str], show: Callable[[BackfillProgress], Coroutine[Any, Any, None]], speaker: Lang
    ) -> list[str]:
        """Back-fill each repository in turn; return one line per repository."""
        lines = []
        edits: set[asyncio.Task[None]] = set()  # progress edits in flight, awaited before the final answer

        def progress(report: BackfillProgress) -> None:
            edit = asyncio.create_task(show(report), name="vestry-backfill-progress")
            edits.add(edit)
            edit.add_done_callback(edits.discard)

        for name in repos:
            try:
                report = await self.services.backfill.run(name, progress=progress)
            except RateLimited as exc:
                lines.append(
                    speaker.gettext(
                        "**{repo}**: GitHub's rate limit is spent; it resumes by itself at {time} UTC and continues "
                        "where it stopped.",
                        repo=name,
                        time=f"{exc.reset_at:%H:%M}",
                    )
                )
                continue
            except GraphQLFailed as exc:
                lines.append(
                    speaker.gettext(
                        "**{repo}**: {error}. Progress is saved; `/vestry status` shows it.",
                        repo=name,
                        error=str(exc)[:300],
                    )
                )
                continue
            except GitHubError as exc:
                lines.append(
                    speaker.gettext(
                        "**{repo}**: GitHub could not be reached ({error}); run it again, it resumes.",
                        repo=name,
                        error=exc,
                    )
                )
                continue
            if report.already_done:
                lines.append(speaker.gettext("**{repo}**: already imported.", repo=name))
            else:
                lines.append(
                    speaker.gettext(
                        "**{repo}**: {prs} pull requests, {reviews} reviews, {issues} issues, {stars} stars in "
                        "{requests} requests.",
                        repo=name,
                        prs=report.prs,
                        reviews=report.reviews,
                        issues=report.issues,
                        stars=report.stars,
                        requests=report.requests,
                    )
                )
        await asyncio.gather(*edits, return_exceptions=True)
        return lines

    async def _finish(self, interaction: discord.Interaction, text: str) -> None:
        """Put the result in the command's reply, or, once its token has expired, in a normal message."""
        if can_edit(interaction, self.services.clock.now()):
            await interaction.edit_original_response(content=fit_content(text))
            return
        settings = self.services.settings.discord.channels
        channel_id = settings.maintainers or interaction.channel_id
        if channel_id is None:
            log.warning("backfill finished after its command expired, and there is no channel to say so: %s", text)
            return
        who = interaction.user.id
        message = OutMessage(content=fit_content(f"{mention(who)} {text}"), mention_users=(who,))
        key = f"backfill-result:{interaction.id}"
        async with self.services.db.transaction() as conn:
            await enqueue_message(conn, key, channel_id, message, now=self.services.clock.now())


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(GitHub(bot))
