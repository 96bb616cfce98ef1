"""Turn Vestry's plain message descriptions into discord.py objects."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.discord.tokens import can_edit
from bot.fit import fit_message
from bot.messages import Attachment, Button, OutMessage, Reply

log = logging.getLogger(__name__)

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
    "link": discord.ButtonStyle.link,
}


def embeds(data: Sequence[dict[str, object]]) -> list[discord.Embed]:
    """Build embeds from Discord's JSON embed shape."""
    return [discord.Embed.from_dict(dict(item)) for item in data]


def view(buttons: Sequence[Button]) -> discord.ui.View | None:
    """Build a persistent-style view holding the buttons (their clicks are handled by cogs' listeners)."""
    if not buttons:
        return None
    holder = discord.ui.View(timeout=None)
    for button in buttons:
        if button.url:
            holder.add_item(
                discord.ui.Button(
                    label=button.label, url=button.url, style=discord.ButtonStyle.link, disabled=button.disabled
                )
            )
        else:
            holder.add_item(
                discord.ui.Button(
                    label=button.label,
                    custom_id=button.custom_id,
                    style=_STYLES[button.style],
                    disabled=button.disabled,
                )
            )
    return holder


def files(attachments: Sequence[Attachment]) -> list[discord.File]:
    """Build uploadable files."""
    return [discord.File(io.BytesIO(item.data), filename=item.filename) for item in attachments]


def allowed_mentions(users: Sequence[int] = (), roles: Sequence[int] = ()) -> discord.AllowedMentions:
    """Allow exactly the listed mentions: never @everyone, @here or an unlisted role."""
    return discord.AllowedMentions(
        everyone=False,
        users=[discord.Object(user) for user in users] if users else False,
        roles=[discord.Object(role) for role in roles] if roles else False,
        replied_user=False,
    )


def message_kwargs(message: OutMessage) -> dict[str, Any]:
    """Keyword arguments for ``Messageable.send`` (or an edit) from an OutMessage, fitted into Discord's limits."""
    message = fit_message(message)
    kwargs: dict[str, Any] = {
        "content": message.content or None,
        "embeds": embeds(message.embeds),
        "allowed_mentions": allowed_mentions(message.mention_users, message.mention_roles),
        "files": files(message.files),
    }
    built = view(message.buttons)
    if built is not None:
        kwargs["view"] = built
    return kwargs


async def send_reply(interaction: discord.Interaction, reply: Reply) -> None:
    """Answer an interaction with a Reply, as the first response or a followup."""
    reply = fit_message(reply)
    kwargs: dict[str, Any] = {
        "content": reply.content or None,
        "embeds": embeds(reply.embeds),
        "ephemeral": reply.ephemeral,
        "allowed_mentions": allowed_mentions(),
        "files": files(reply.files),
    }
    built = view(reply.buttons)
    if built is not None:
        kwargs["view"] = built
    if interaction.response.is_done():
        if _expired(interaction):
            return
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


def _expired(interaction: discord.Interaction) -> bool:
    """Tell (and log) when the interaction's token has run out: Discord would refuse the request with 401 50027."""
    services = getattr(interaction.client, "services", None)
    now = services.clock.now() if services is not None else discord.utils.utcnow()
    if can_edit(interaction, now):
        return False
    log.warning("not answering interaction %s: its 15-minute token has run out", interaction.id)
    return True


async def edit_reply(interaction: discord.Interaction, reply: Reply) -> None:
    """Replace the interaction's original response with a Reply (not once its token has run out)."""
    if _expired(interaction):
        return
    reply = fit_message(reply)
    built = view(reply.buttons)
    await interaction.edit_original_response(
        content=reply.content or None,
        embeds=embeds(reply.embeds),
        view=built,
        allowed_mentions=allowed_mentions(),
        attachments=files(reply.files),
    )
