"""Serve Discord the command localisations from Vestry's catalogues (discord.py's ``app_commands.Translator``)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import SHIPPED, lang
from bot.i18n.extract import COMMAND_NAME, MENU_NAME

_NAMES = (Where.command_name, Where.group_name, Where.parameter_name)


class CatalogueTranslator(app_commands.Translator):
    """Translate command names, descriptions, options and choices for the locales Vestry ships."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        """Return the catalogue's translation, or None where it has none (Discord then shows the English)."""
        speaker = lang(locale.value)
        if speaker.locale not in SHIPPED or speaker.discord_locale != locale.value:
            return None  # "pt-BR" speaks Brazilian Portuguese; other variants of a language keep the English
        message = string.message
        if context.location in _NAMES:
            menu = context.location is Where.command_name and isinstance(context.data, app_commands.ContextMenu)
            translated = speaker.pgettext(MENU_NAME if menu else COMMAND_NAME, message)
        else:
            translated = speaker.gettext(message)
        return translated if translated != message else None
