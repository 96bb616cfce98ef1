"""The language of channel posts: ``[discord] locale`` if set, else the server's preferred locale, else English."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.config import Settings
from bot.config.i18n import DEFAULT_TEMPLATES
from bot.db import Database
from bot.i18n.text import Lang, lang
from bot.timeutil import iso


async def channel_lang(conn: aiosqlite.Connection, settings: Settings) -> Lang:
    """Return the language Vestry posts in on the server it serves."""
    if settings.discord.locale:
        return lang(settings.discord.locale)
    cursor = await conn.execute(
        "SELECT preferred_locale FROM guild_locales WHERE guild_id = ?", (settings.discord.guild_id,)
    )
    row = await cursor.fetchone()
    return lang(str(row[0]) if row else None)


async def posts_lang(db: Database, settings: Settings) -> Lang:
    """Return the language of channel posts, outside a transaction."""
    if settings.discord.locale:
        return lang(settings.discord.locale)
    found = await db.fetchval(
        "SELECT preferred_locale FROM guild_locales WHERE guild_id = ?", (settings.discord.guild_id,)
    )
    return lang(str(found) if found else None)


async def remember_guild_locale(db: Database, guild_id: int, locale: str, now: datetime) -> None:
    """Keep the server's preferred locale (Discord sends it with the guild and on every change)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO guild_locales(guild_id, preferred_locale, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT(guild_id) DO UPDATE SET preferred_locale = excluded.preferred_locale, "
            "seen_at = excluded.seen_at",
            (guild_id, locale, iso(now)),
        )


def template_for(settings: Settings, speaker: Lang, key: str, configured: str) -> str:
    """Choose a post template: the operator's for this language, else their main one if they changed it, else the
    built-in one in this language (``key``: ``first_pr``, ``milestone`` or ``promotion``)."""
    own = settings.template(speaker.discord_locale, key)
    if own is not None:
        return own
    default = DEFAULT_TEMPLATES[key]
    return configured if configured != default else speaker.gettext(default)
