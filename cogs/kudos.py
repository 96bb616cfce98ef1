"""/kudos, /recognize and /profile: people thanking people, and what each member has done.

First-PR kudos, milestones and other firsts are posted by the Recognition service through the outbox; the
"This is me" button on those posts is handled by the linking cog.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import in_guild, maintainer_only
from bot.discord.public import answer_channel, answer_public, held
from bot.discord.render import send_reply
from bot.errors import UserFacingError
from bot.fit import fit_choices
from bot.i18n import ENGLISH, N_, Lang, lang
from bot.i18n.server import posts_lang
from bot.messages import Reply
from bot.services.halloffame import HallOfFame
from bot.services.recognition import (
    MemberRef,
    Recognition,
    kind_choices,
    kudos_message,
    kudos_post_key,
    profile_embed,
    recognition_answer_key,
    recognition_message,
)

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)


def member_ref(member: discord.Member | discord.User) -> MemberRef:
    """Describe a Discord member as the service needs it."""
    return MemberRef(member.id, member.display_name, member.bot)


def already_thanked(interaction: discord.Interaction, name: str) -> str:
    """Tell a member, in their language, that the thanks they repeated is recorded (and where it is posted)."""
    speaker = lang(interaction.locale.value)
    if interaction.channel_id:
        channel = f"<#{interaction.channel_id}>"
        return speaker.gettext(
            "Your thanks to {name} is already recorded; it is posted in {channel}.", name=name, channel=channel
        )
    return speaker.gettext("Your thanks to {name} is already recorded.", name=name)


def public_note(public: bool, speaker: Lang = ENGLISH) -> str:
    """Say what /profile public:… changed."""
    if public:
        return speaker.gettext(
            "Your Discord name and avatar now show on the public hall of fame; `/profile public:false` hides them."
        )
    return speaker.gettext("Your Discord name and avatar no longer show on the public hall of fame.")


class Kudos(commands.Cog):
    """Thanks between members, recognition of non-code work, and profiles."""

    def __init__(self, bot: VestryBot, recognition: Recognition, hall: HallOfFame) -> None:
        self.bot = bot
        self.recognition = recognition
        self.hall = hall

    async def cog_load(self) -> None:
        """Go on releasing celebrations held while the kudos channel was backed up (before a restart)."""
        await self.recognition.resume()

    async def cog_unload(self) -> None:
        """Stop watching the kudos channel; held celebrations wait for the next load."""
        await self.recognition.stop()

    @property
    def guild_id(self) -> int:
        """The server Vestry serves."""
        return self.bot.services.settings.discord.guild_id

    @app_commands.command(name="kudos")
    @app_commands.describe(member="Who you want to thank", reason="What they did")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def kudos(self, interaction: discord.Interaction, member: discord.Member, reason: str | None = None) -> None:
        """Thank a member in public for their help."""
        key = kudos_post_key(self.guild_id, interaction.id)
        # The kudos and its post are recorded together; the outbox holds the post while this answer makes it,
        # and makes it itself if the answer fails (or the bot dies first), so a kudos is never without its post.
        with held(self.bot, key):
            given = await self.recognition.give_kudos(
                self.guild_id,
                member_ref(interaction.user),
                member_ref(member),
                reason,
                interaction_id=interaction.id,
                channel_id=answer_channel(self.bot, interaction),
            )
            if given.repeated:
                await send_reply(interaction, Reply(already_thanked(interaction, member.display_name)))
                return
            await answer_public(self.bot, interaction, key, kudos_message(given, lang(given.locale)))

    @app_commands.command(name="recognize")
    @app_commands.describe(
        member="Who to recognise", kind="What kind of contribution (doc, talk, design…)", link="A link to the work"
    )
    @app_commands.guild_only()
    @maintainer_only()
    async def recognize(self, interaction: discord.Interaction, member: discord.Member, kind: str, link: str) -> None:
        """Recognise a member's non-code contribution (maintainers)."""
        key = recognition_answer_key(self.guild_id, interaction.id)
        with held(self.bot, key):
            given = await self.recognition.recognize(
                self.guild_id,
                member_ref(interaction.user),
                member_ref(member),
                kind,
                link,
                interaction_id=interaction.id,
                channel_id=answer_channel(self.bot, interaction),
            )
            if given.repeated:
                text = lang(interaction.locale.value).gettext(
                    "This recognition of {name} is already recorded.", name=member.display_name
                )
                await send_reply(interaction, Reply(text))
                return
            if not given.posted:
                speaker = await posts_lang(self.bot.services.db, self.bot.services.settings)
                await answer_public(self.bot, interaction, key, recognition_message(given, speaker))
                return
        channel = self.bot.services.settings.discord.channels.kudos
        text = lang(interaction.locale.value).gettext(
            "Thanks for recognising {name}: posted in {channel}.", name=member.display_name, channel=f"<#{channel}>"
        )
        await send_reply(interaction, Reply(text))

    @recognize.autocomplete("kind")
    async def kind_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Offer the contribution kinds that match what was typed."""
        choices = kind_choices(current, speaker=lang(interaction.locale.value))
        return [app_commands.Choice(name=label, value=key) for label, key in fit_choices(choices)]

    @app_commands.command(name="profile")
    @app_commands.describe(
        member="Whose profile to show (yours when left out)",
        public="Show your Discord name and avatar on the public hall of fame (off until you turn it on)",
    )
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def profile(
        self, interaction: discord.Interaction, member: discord.Member | None = None, public: bool | None = None
    ) -> None:
        """Show a member's contributions, thanks received and place on the ladder."""
        subject = member or interaction.user
        if public is not None and subject.id != interaction.user.id:
            raise UserFacingError(N_("Only you can choose what the hall of fame shows about you; leave `member` out."))
        note = None
        speaker = lang(interaction.locale.value)
        if public is not None:
            user = interaction.user
            await self.hall.set_public(user.id, public, user.display_name, user.display_avatar.url)
            note = public_note(public, speaker)
        found = await self.recognition.profile(self.guild_id, member_ref(subject), interaction.user.id, speaker)
        web_url = self.bot.services.settings.github.oauth_url
        embed = profile_embed(found, subject.display_name, web_url, speaker)
        await send_reply(interaction, Reply(note or "", embeds=[embed]))

    @app_commands.command(name="forget")
    @app_commands.guild_only()
    @app_commands.check(in_guild)
    async def forget(self, interaction: discord.Interaction) -> None:
        """Remove your Discord name, avatar, tier and thanks from the public hall of fame."""
        await self.hall.forget(interaction.user.id)
        text = lang(interaction.locale.value).gettext(
            "Done: the hall of fame no longer shows your Discord name, avatar, tier, kudos or recognitions. "
            "Your public GitHub contributions stay listed, as on GitHub. `/profile public:true` shows you again."
        )
        await send_reply(interaction, Reply(text))


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(Kudos(bot, bot.services.features.recognition, bot.services.features.hall_of_fame))
