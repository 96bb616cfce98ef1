"""The one translation layer: gettext catalogues per locale (managed with Babel) and locale-aware formats.

Services and cogs take a :class:`Lang` for the member or channel they write to and pass every member-facing
string through it; strings defined away from where they are shown are marked with :func:`N_`.
"""

from bot.i18n.catalog import DOMAIN, LOCALES_DIR, po_path, translations
from bot.i18n.locales import DISCORD_LOCALES, SHIPPED, SOURCE, SUPPORTED, catalogue_for, check_locale
from bot.i18n.text import ENGLISH, N_, Lang, Notice, lang, say

__all__ = [
    "DISCORD_LOCALES",
    "DOMAIN",
    "ENGLISH",
    "LOCALES_DIR",
    "N_",
    "SHIPPED",
    "SOURCE",
    "SUPPORTED",
    "Lang",
    "Notice",
    "catalogue_for",
    "check_locale",
    "lang",
    "po_path",
    "say",
    "translations",
]
