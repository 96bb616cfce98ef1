"""/link, /verify, /unlink, /whois and the "This is me" button: members prove which GitHub account is theirs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.buttons import LinkClick
from bot.discord.buttons import persistent
from bot.discord.checks import in_guild, maintainer_only
from bot.discord.render import edit_reply, send_reply
from bot.discord.tokens import can_edit
from bot.errors import UserFacingError
from bot.i18n import ENGLISH, N_, Lang, lang
from bot.messages import Button, OutMessage, Reply, mention
from bot.outbox import enqueue_dm
from bot.services.linking import AuditEntry, DeviceSession, Link, LinkFailed, Linking, LinkResult, ProofRequest

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)

GIST_URL = "https://gist.github.com"


def device_reply(session: DeviceSession, speaker: Lang = ENGLISH) -> Reply:
    """Show the one-time code, where to enter it, and a button that opens the page."""
    values = {
        "uri": session.verification_uri,
        "code": session.user_code,
        "expires": f"<t:{int(session.expires_at.timestamp())}:R>",
        "login": session.expected_login,
    }
    if session.expected_login:
        text = speaker.gettext(
            "**Link your GitHub account**\nSign in to GitHub as **@{login}** to claim it.\n"
            "1. Open {uri}\n2. Enter the code **`{code}`**\n"
            "3. Authorize Vestry (it only reads who you are, and forgets the token at once).\n"
            "This message updates when you're done. The code expires {expires}.",
            **values,
        )
    else:
        text = speaker.gettext(
            "**Link your GitHub account**\n"
            "1. Open {uri}\n2. Enter the code **`{code}`**\n"
            "3. Authorize Vestry (it only reads who you are, and forgets the token at once).\n"
            "This message updates when you're done. The code expires {expires}.",
            **values,
        )
    button = Button(speaker.gettext("Open GitHub"), url=session.verification_uri, style="link")
    return Reply(text, buttons=[button])


def proof_reply(proof: ProofRequest, speaker: Lang = ENGLISH) -> Reply:
    """Tell the member where to put their phrase and how to finish."""
    until = int(proof.expires_at.timestamp())
    text = speaker.gettext(
        "To prove **@{login}** is yours, put this phrase in a **public gist** or in your GitHub "
        "**profile bio**:\n```\n{phrase}\n```\nThen run `/verify` before {time} ({relative}). "
        "You can delete the gist once you're linked.",
        login=proof.login,
        phrase=proof.phrase,
        time=f"<t:{until}:t>",
        relative=f"<t:{until}:R>",
    )
    return Reply(text, buttons=[Button(speaker.gettext("Create a gist"), url=GIST_URL, style="link")])


def linked_reply(result: LinkResult, profile_url: str, speaker: Lang = ENGLISH) -> Reply:
    """Confirm a link, saying what it replaced."""
    link = result.link
    if result.unchanged:
        return Reply(
            speaker.gettext(
                "You're already linked to @{login} ({url}); nothing changed.", login=link.login, url=profile_url
            )
        )
    lines = [speaker.gettext("Linked to @{login} ({url}).", login=link.login, url=profile_url)]
    if result.replaced is not None:
        lines.append(speaker.gettext("This replaces your link to @{login}.", login=result.replaced.login))
    lines.append(speaker.gettext("Your contributions now count for you here; roles you've earned follow in a moment."))
    return Reply("\n".join(lines))


def failure_reply(error: UserFacingError, expected_github_id: int | None = None, speaker: Lang = ENGLISH) -> Reply:
    """Show why a flow stopped; a finished flow (LinkFailed) offers to start again."""
    text = error.translated(speaker)
    if isinstance(error, LinkFailed):
        again = LinkClick(expected_github_id).custom_id()
        return Reply(text, buttons=[Button(speaker.gettext("Try again"), custom_id=again, style="primary")])
    return Reply(text)


_HOW = {
    "oauth": N_("{member} is linked to @{login} ({url}) since {since}, through GitHub sign-in."),
    "gist": N_("{member} is linked to @{login} ({url}) since {since}, through a public gist."),
    "bio": N_("{member} is linked to @{login} ({url}) since {since}, through their bio."),
    "maintainer": N_("{member} is linked to @{login} ({url}) since {since}, by a maintainer."),
}


def whois_reply(link: Link | None, subject: str, profile_url: Callable[[str], str], speaker: Lang = ENGLISH) -> Reply:
    """Describe a link, or its absence."""
    if link is None:
        return Reply(speaker.gettext("{subject} isn't linked.", subject=subject))
    values = {
        "member": mention(link.discord_id),
        "login": link.login,
        "url": profile_url(link.login),
        "since": f"<t:{int(link.linked_at.timestamp())}:D>",
    }
    return Reply(speaker.gettext(_HOW.get(link.method, _HOW["maintainer"]), **values))


def audit_embed(entries: Sequence[AuditEntry], speaker: Lang = ENGLISH) -> dict[str, Any]:
    """Render the audit log, newest first."""
    lines = [
        f"<t:{int(e.at.timestamp())}:f> {mention(e.actor_id)} **{e.action}** "
        f"{mention(e.target_id) if e.target_id else ''} {e.detail}".rstrip()
        for e in entries
    ]
    return {
        "title": speaker.gettext("Link audit (newest first)"),
        "description": "\n".join(lines)[:4000] or speaker.gettext("No entries yet."),
    }


async def answer_deferred(interaction: discord.Interaction, produce: Callable[[], Awaitable[Reply]]) -> None:
    """Defer (GitHub may be slow), then replace the loading message with the reply or the error."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        reply = await produce()
    except UserFacingError as exc:
        reply = failure_reply(exc, speaker=lang(interaction.locale.value))
    await edit_reply(interaction, reply)


class LinkingCog(commands.Cog, name="Linking"):
    """Link Discord members to their GitHub accounts."""

    def __init__(self, bot: VestryBot, linking: Linking) -> None:
        self.bot = bot
        self.linking = linking
        self._tasks: set[asyncio.Task[None]] = set()
        self.admin_commands = self._build_admin()
        self.buttons = (persistent(LinkClick, self.on_button),)

    @property
    def guild_id(self) -> int:
        """The server Vestry serves."""
        return self.bot.services.settings.discord.guild_id

    async def cog_load(self) -> None:
        """Take the linking buttons ("Try again", and "This is me" on announcements); add /vestry link, unlink
        and audit."""
        self.bot.add_dynamic_items(*self.buttons)
        self.bot.add_vestry_commands(*self.admin_commands)

    async def cog_unload(self) -> None:
        """Stop every device-flow poll this cog started."""
        self.bot.remove_dynamic_items(*self.buttons)
        self.bot.remove_vestry_commands(*self.admin_commands)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.linking.close()

    def _build_admin(self) -> list[app_commands.Command[Any, ..., None]]:
        """The maintainers' /vestry link, unlink and audit."""

        @app_commands.command(name="link")
        @app_commands.describe(member="The member to link", github="Their GitHub login")
        @maintainer_only()
        async def link(interaction: discord.Interaction, member: discord.Member, github: str) -> None:
            """Link a member to a GitHub account on your word (audited; moves it from anyone else)."""
            await self.admin_link(interaction, member, github)

        @app_commands.command(name="unlink")
        @app_commands.describe(member="The member to unlink")
        @maintainer_only()
        async def unlink(interaction: discord.Interaction, member: discord.Member) -> None:
            """Unlink a member's GitHub account (audited; the roles it earned are removed)."""
            old = await self.linking.admin_unlink(self.guild_id, interaction.user.id, member.id)
            text = lang(interaction.locale.value).gettext(
                "Unlinked {member} from @{login}.", member=mention(member.id), login=old.login
            )
            await send_reply(interaction, Reply(text))

        @app_commands.command(name="audit")
        @maintainer_only()
        async def audit(interaction: discord.Interaction) -> None:
            """Show the last 20 links and unlinks made by maintainers."""
            entries = await self.linking.audit(self.guild_id, 20)
            await send_reply(interaction, Reply(embeds=[audit_embed(entries, lang(interaction.locale.value))]))

        return [link, unlink, audit]

    async def admin_link(self, interaction: discord.Interaction, member: discord.Member, github: str) -> None:
        """Answer /vestry link."""
        actor_id = interaction.user.id
        speaker = lang(interaction.locale.value)

        async def run() -> Reply:
            result = await self.linking.admin_link(self.guild_id, actor_id, member.id, github)
            sentences = [
                speaker.gettext("Linked {member} to @{login}.", member=mention(member.id), login=result.link.login)
            ]
            if result.moved_from is not None:
                sentences.append(
                    speaker.gettext(
                        "It was linked to {member}, who is now unlinked.", member=mention(result.moved_from.discord_id)
                    )
                )
            if result.replaced is not None:
                sentences.append(speaker.gettext("This replaces their link to @{login}.", login=result.replaced.login))
            return Reply(" ".join(sentences))

        await answer_deferred(interaction, run)

    @app_commands.command(name="link")
    @app_commands.describe(github="Your GitHub login, to prove it with a public gist or your bio instead of signing in")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def link(self, interaction: discord.Interaction, github: str | None = None) -> None:
        """Link your GitHub account so your contributions count here."""
        if github is not None:
            await self._proof(interaction, github, None)
        elif self.linking.device_flow_enabled:
            await self._device(interaction, None)
        else:
            raise UserFacingError(
                N_("Tell me your GitHub login: `/link github:<your login>` gives you a phrase to publish.")
            )

    @app_commands.command(name="verify")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def verify(self, interaction: discord.Interaction) -> None:
        """Check the phrase /link gave you and link your GitHub account."""
        user_id = interaction.user.id

        async def run() -> Reply:
            result = await self.linking.verify(self.guild_id, user_id)
            return linked_reply(result, self.linking.profile_url(result.link.login), lang(interaction.locale.value))

        await answer_deferred(interaction, run)

    @app_commands.command(name="unlink")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def unlink(self, interaction: discord.Interaction) -> None:
        """Unlink your GitHub account (the roles it earned are removed)."""
        old = await self.linking.unlink(self.guild_id, interaction.user.id)
        text = lang(interaction.locale.value).gettext(
            "Unlinked from @{login}. The roles your link earned will be removed; `/link` again any time.",
            login=old.login,
        )
        await send_reply(interaction, Reply(text))

    @app_commands.command(name="whois")
    @app_commands.describe(member="A member of this server", github="A GitHub login")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def whois(
        self, interaction: discord.Interaction, member: discord.Member | None = None, github: str | None = None
    ) -> None:
        """Show which GitHub account a member is linked to, or which member a GitHub login is."""
        if member is not None and github is not None:
            raise UserFacingError(N_("Give either `member` or `github`, not both."))
        if github is not None:
            link = await self.linking.link_of_login(self.guild_id, github)
            subject = f"@{github.strip().removeprefix('@')}"
        else:
            target = member or interaction.user
            link = await self.linking.link_of_member(self.guild_id, target.id)
            subject = mention(target.id)
        speaker = lang(interaction.locale.value)
        await send_reply(interaction, whois_reply(link, subject, self.linking.profile_url, speaker))

    async def on_button(self, interaction: discord.Interaction, click: LinkClick) -> None:
        """Handle "Try again" and "This is me" (on an announcement of someone not yet linked)."""
        expected = click.github_id
        if self.linking.device_flow_enabled:
            await self._device(interaction, expected)
        elif expected is not None:
            await self._proof(interaction, None, expected)
        else:
            raise UserFacingError(N_("Run `/link github:<your login>` again for a new phrase."))

    async def _proof(self, interaction: discord.Interaction, login: str | None, expected: int | None) -> None:
        user_id = interaction.user.id

        async def run() -> Reply:
            name = login if login is not None else await self.linking.claim_login(self.guild_id, user_id, expected or 0)
            proof = await self.linking.start_proof(self.guild_id, user_id, name, expected)
            return proof_reply(proof, lang(interaction.locale.value))

        await answer_deferred(interaction, run)

    async def _device(self, interaction: discord.Interaction, expected: int | None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        speaker = lang(interaction.locale.value)
        try:
            session = await self.linking.start_device(self.guild_id, interaction.user.id, expected)
        except UserFacingError as exc:
            await edit_reply(interaction, failure_reply(exc, expected, speaker))
            return
        await edit_reply(interaction, device_reply(session, speaker))
        self._spawn(self._finish_device(interaction, session), f"link-{interaction.user.id}")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_device(self, interaction: discord.Interaction, session: DeviceSession) -> None:
        """Wait for GitHub in the background, then edit the code message with the outcome."""
        speaker = lang(interaction.locale.value)
        try:
            result = await self.linking.complete_device(session)
            reply = linked_reply(result, self.linking.profile_url(result.link.login), speaker)
        except UserFacingError as exc:
            failed = exc if isinstance(exc, LinkFailed) else LinkFailed(exc.template, **exc.values)
            reply = failure_reply(failed, session.expected_github_id, speaker)
        except Exception:
            log.exception("linking member %s through the device flow failed", session.discord_id)
            failed = LinkFailed(N_("Something went wrong on our side; press **Try again**."))
            reply = failure_reply(failed, session.expected_github_id, speaker)
        services = self.bot.services
        if not can_edit(interaction, services.clock.now()):
            await self._tell_by_dm(interaction, reply)
            return
        try:
            # The poll stops after 14 of the token's 15 minutes, so the original message can normally be edited.
            await edit_reply(interaction, reply)
        except discord.HTTPException as exc:
            log.warning("could not update the /link message of member %s: %s", session.discord_id, exc.status)
        await self.linking.device_done(session)

    async def _tell_by_dm(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Say how /link ended in a DM: its message can no longer be edited once the token has expired."""
        services = self.bot.services
        text = lang(interaction.locale.value).gettext(
            "Your `/link` from {when} ended: {outcome}",
            when=f"<t:{int(interaction.created_at.timestamp())}:R>",
            outcome=reply.content,
        )
        message = OutMessage(content=text, buttons=tuple(b for b in reply.buttons if b.custom_id))
        async with services.db.transaction() as conn:
            await enqueue_dm(
                conn, f"link-result:{interaction.id}", interaction.user.id, message, now=services.clock.now()
            )


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    services = bot.services
    await bot.add_cog(LinkingCog(bot, services.features.linking))
