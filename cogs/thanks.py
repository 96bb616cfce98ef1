"""Thanks where people talk: the "Thank for this" and "Give kudos" context menus, and kudos by reaction.

Both menus open the same modal (an optional note) and record peer kudos through the recognition service, so
limits and posts are those of /kudos. The modal's custom_id carries who is thanked and for which message, and the
cog records every submission from it, so a form submitted after the bot restarted still counts.

A reaction with ``[kudos] reaction_emoji`` gives kudos quietly: the bot acknowledges with its own reaction, and a
reaction removed within ``reaction_grace`` withdraws the kudos.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import in_guild
from bot.discord.public import answer_channel, answer_public, held
from bot.discord.render import send_reply
from bot.errors import UserFacingError
from bot.i18n import N_, Lang, lang
from bot.i18n.server import remember_guild_locale
from bot.messages import Reply, mention
from bot.services.recognition import MemberRef, MessageRef, Recognition, kudos_message, kudos_post_key

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)

NOTE_FIELD = "note"
TITLE_MAX, LABEL_MAX = 45, 45


def emoji_key(emoji: discord.PartialEmoji) -> str:
    """Write an emoji as the configuration does: the character itself, or ``name:id`` for a custom one."""
    return f"{emoji.name}:{emoji.id}" if emoji.id else str(emoji.name)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ThanksForm:
    """The thanks modal's custom_id, written and read here: who is thanked and, from "Thank for this", where."""

    TEMPLATE: ClassVar[str] = r"thanks:(?P<receiver>\d{1,20})(?::(?P<channel>\d{1,20}):(?P<message>\d{1,20}))?"

    receiver_id: int
    channel_id: int | None = None
    message_id: int | None = None

    def custom_id(self) -> str:
        """``thanks:<receiver>``, or ``thanks:<receiver>:<channel>:<message>`` for a message's author."""
        where = f":{self.channel_id}:{self.message_id}" if self.message_id is not None else ""
        return f"thanks:{self.receiver_id}{where}"

    @classmethod
    def read(cls, custom_id: str) -> ThanksForm | None:
        """The form a submitted modal's custom_id names, or None when it is not a thanks form."""
        match = re.fullmatch(cls.TEMPLATE, custom_id)
        if match is None:
            return None
        channel, message = match["channel"], match["message"]
        return cls(int(match["receiver"]), int(channel) if channel else None, int(message) if message else None)


def submitted_value(data: Any, custom_id: str) -> str:
    """The value of one text input of a submitted modal ("" when it is missing)."""
    for row in data.get("components") or []:
        for field in row.get("components") or [row.get("component") or {}]:
            if field.get("custom_id") == custom_id:
                return str(field.get("value") or "")
    return ""


class ThanksModal(discord.ui.Modal):
    """The note a member may add to their thanks; the cog records the submission from the form's id."""

    def __init__(self, limit: int, speaker: Lang, receiver: MemberRef, message: MessageRef | None) -> None:
        form = ThanksForm(receiver.id, *((message.channel_id, message.message_id) if message else ()))
        super().__init__(
            title=_cut(speaker.gettext("Thank {name}", name=receiver.name), TITLE_MAX),
            timeout=900,
            custom_id=form.custom_id(),
        )
        self.note: discord.ui.TextInput[ThanksModal] = discord.ui.TextInput(
            label=_cut(speaker.gettext("What are you thanking them for?"), LABEL_MAX),
            placeholder=speaker.gettext("Optional: a few words they will read"),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=limit,
            custom_id=NOTE_FIELD,
        )
        self.add_item(self.note)


class Thanks(commands.Cog):
    """Kudos from a message's or a member's context menu, and from a reaction."""

    def __init__(self, bot: VestryBot, recognition: Recognition) -> None:
        self.bot = bot
        self.recognition = recognition
        self.thank_menu = app_commands.ContextMenu(name="Thank for this", callback=self.thank_for_message)
        self.give_menu = app_commands.ContextMenu(name="Give kudos", callback=self.give_kudos)
        for menu in (self.thank_menu, self.give_menu):
            menu.guild_only = True
            menu.add_check(in_guild)

    async def cog_load(self) -> None:
        """Add the context menus to the tree (a cog cannot declare them as methods)."""
        self.bot.tree.add_command(self.thank_menu)
        self.bot.tree.add_command(self.give_menu)

    async def cog_unload(self) -> None:
        """Take the context menus off the tree."""
        self.bot.tree.remove_command(self.thank_menu.name, type=self.thank_menu.type)
        self.bot.tree.remove_command(self.give_menu.name, type=self.give_menu.type)

    @property
    def note_limit(self) -> int:
        """The longest note a thanks may carry (``[kudos] reason_max_length``)."""
        return self.bot.services.settings.kudos.reason_max_length

    @property
    def guild_id(self) -> int:
        """The server Vestry serves."""
        return self.bot.services.settings.discord.guild_id

    def _check(self, interaction: discord.Interaction, receiver: discord.Member | discord.User) -> MemberRef:
        if receiver.id == interaction.user.id:
            raise UserFacingError(N_("You can't give kudos to yourself. Is there someone who helped you?"))
        if receiver.bot:
            raise UserFacingError(N_("Bots don't need kudos. Thank the people behind them instead!"))
        return MemberRef(receiver.id, receiver.display_name, receiver.bot)

    async def thank_for_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Thank the author of this message (a note is optional)."""
        receiver = self._check(interaction, message.author)
        where = MessageRef(self.guild_id, message.channel.id, message.id)
        speaker = lang(interaction.locale.value)
        await interaction.response.send_modal(ThanksModal(self.note_limit, speaker, receiver, where))

    async def give_kudos(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Thank this member (a note is optional)."""
        receiver = self._check(interaction, member)
        speaker = lang(interaction.locale.value)
        await interaction.response.send_modal(ThanksModal(self.note_limit, speaker, receiver, None))

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Record a submitted thanks form from its id, whether the bot opened it before or after a restart."""
        if interaction.type is not discord.InteractionType.modal_submit or not interaction.data:
            return
        form = ThanksForm.read(str(interaction.data.get("custom_id", "")))
        if form is None:
            return
        try:
            in_guild(interaction)
            # The receiver's name only words the "already recorded" answer; a mention shows it in any client.
            receiver = MemberRef(form.receiver_id, mention(form.receiver_id), False)
            where = None
            if form.channel_id is not None and form.message_id is not None:
                where = MessageRef(self.guild_id, form.channel_id, form.message_id)
            note = submitted_value(interaction.data, NOTE_FIELD).strip()
            await self.give(interaction, receiver, note or None, where)
        except Exception as exc:
            await self.bot.reporter.report(interaction, exc, "the kudos form")

    async def give(
        self, interaction: discord.Interaction, receiver: MemberRef, note: str | None, message: MessageRef | None
    ) -> None:
        """Record the kudos of a submitted modal and make its post (the outbox makes it if the answer fails)."""
        key = kudos_post_key(self.guild_id, interaction.id)
        with held(self.bot, key):
            given = await self.recognition.give_kudos(
                self.guild_id,
                MemberRef(interaction.user.id, interaction.user.display_name, interaction.user.bot),
                receiver,
                note,
                interaction_id=interaction.id,
                channel_id=answer_channel(self.bot, interaction),
                message=message,
            )
            if given.repeated:
                speaker = lang(interaction.locale.value)
                text = speaker.gettext("Your thanks to {name} is already recorded.", name=receiver.name)
                await send_reply(interaction, Reply(text))
                return
            await answer_public(self.bot, interaction, key, kudos_message(given, lang(given.locale)))

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Give kudos for the configured reaction on another member's message."""
        if payload.guild_id != self.guild_id or not self.recognition.reaction_counts(emoji_key(payload.emoji)):
            return
        giver, author_id = payload.member, payload.message_author_id
        own = self.bot.user.id if self.bot.user else 0
        if giver is None or giver.bot or author_id is None or author_id in (giver.id, own):
            return
        author = await self._member(author_id)
        if author is None or author.bot:
            return
        message = MessageRef(self.guild_id, payload.channel_id, payload.message_id)
        await self.recognition.reacted(
            MemberRef(giver.id, giver.display_name),
            MemberRef(author.id, author.display_name),
            message,
            emoji_key(payload.emoji),
        )

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """Withdraw the kudos of a reaction taken back within the grace period."""
        if payload.guild_id != self.guild_id or not self.recognition.reaction_counts(emoji_key(payload.emoji)):
            return
        message = MessageRef(self.guild_id, payload.channel_id, payload.message_id)
        await self.recognition.unreacted(payload.user_id, message, emoji_key(payload.emoji))

    async def _member(self, user_id: int) -> discord.Member | None:
        """Look the message's author up (the member cache is off); None when they left or Discord fails."""
        guild = self.bot.get_guild(self.guild_id)
        if guild is None:
            return None
        try:
            return await guild.fetch_member(user_id)
        except discord.HTTPException as exc:
            log.info("no kudos for a reaction: could not look up member %s (%s)", user_id, exc)
            return None

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Keep the server's preferred locale, the language of channel posts unless [discord] locale is set."""
        await self._remember(guild)

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        """Follow a change of the server's preferred locale."""
        if before.preferred_locale != after.preferred_locale:
            await self._remember(after)

    async def _remember(self, guild: discord.Guild) -> None:
        if guild.id == self.guild_id:
            services = self.bot.services
            await remember_guild_locale(services.db, guild.id, guild.preferred_locale.value, services.clock.now())


async def setup(bot: VestryBot) -> None:
    """Load the cog."""
    await bot.add_cog(Thanks(bot, bot.services.features.recognition))
