"""How long an interaction can still be answered: Discord's token lasts 15 minutes, then edits fail (401, 50027)."""

from __future__ import annotations

from datetime import datetime, timedelta

import discord

TOKEN_LIFETIME = timedelta(minutes=15)
#: Stop editing this long before the token dies, so an edit in flight (or a slow retry) still lands.
SAFETY_MARGIN = timedelta(seconds=45)


def token_deadline(interaction: discord.Interaction) -> datetime:
    """Return when the interaction's token stops working (its snowflake's time plus 15 minutes)."""
    return interaction.created_at + TOKEN_LIFETIME


def can_edit(interaction: discord.Interaction, now: datetime) -> bool:
    """Tell whether the interaction's messages may still be edited or followed up at ``now``."""
    return now < token_deadline(interaction) - SAFETY_MARGIN
