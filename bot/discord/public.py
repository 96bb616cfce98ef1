"""Answers everyone sees that the outbox also holds: the interaction makes the post, or the outbox does."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.discord.render import allowed_mentions, embeds
from bot.fit import fit_message
from bot.messages import OutMessage

if TYPE_CHECKING:
    from bot.discord.client import VestryBot

log = logging.getLogger(__name__)


async def send_public(interaction: discord.Interaction, message: OutMessage) -> int | None:
    """Answer in the channel for everyone to see, mentioning exactly who the message lists; return its id."""
    message = fit_message(message)
    answered = await interaction.response.send_message(
        content=message.content or None,
        embeds=embeds(message.embeds),
        allowed_mentions=allowed_mentions(message.mention_users, message.mention_roles),
    )
    return answered.message_id if answered is not None else None


def held(bot: VestryBot, key: str) -> contextlib.AbstractContextManager[None]:
    """Keep an outbox post waiting while the interaction answer tries to make it."""
    dispatcher = bot.services.dispatcher
    return dispatcher.hold(key) if dispatcher is not None else contextlib.nullcontext()


def answer_channel(bot: VestryBot, interaction: discord.Interaction) -> int | None:
    """Where a command's post goes through the outbox when its answer fails (none without a dispatcher)."""
    return interaction.channel_id if bot.services.dispatcher is not None else None


async def answer_public(bot: VestryBot, interaction: discord.Interaction, key: str, message: OutMessage) -> None:
    """Make a held outbox post as the interaction's answer; when the answer fails, the outbox makes it."""
    try:
        message_id = await send_public(interaction, message)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("the answer to %s failed (%s); the outbox posts it instead", key, exc)
        return
    dispatcher = bot.services.dispatcher
    if dispatcher is not None:
        result = {"channel_id": interaction.channel_id, "message_id": message_id, "via": "interaction"}
        await dispatcher.complete(key, result)
