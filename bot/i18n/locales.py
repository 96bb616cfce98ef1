"""Which languages Vestry speaks, and how Discord's locale names map onto its catalogues."""

from __future__ import annotations

#: The catalogue of each shipped language, by its gettext name; English is the source language.
SOURCE = "en"
SHIPPED = ("de", "pt_BR")
SUPPORTED = (SOURCE, *SHIPPED)

#: Every locale Discord knows (its ``Locale`` values), for validating configuration.
DISCORD_LOCALES = frozenset(
    {
        "ar", "bg", "cs", "da", "de", "el", "en-GB", "en-US", "es-419", "es-ES", "fi", "fr", "he", "hi", "hr",
        "hu", "id", "it", "ja", "ko", "lt", "nl", "no", "pl", "pt-BR", "ro", "ru", "sv-SE", "th", "tr", "uk",
        "vi", "zh-CN", "zh-TW",
    }
)  # fmt: skip


def catalogue_for(locale: str | None) -> str:
    """Return the shipped catalogue for a Discord or gettext locale ("pt-BR", "de", "en-US"), English otherwise."""
    if not locale:
        return SOURCE
    name = str(locale).replace("-", "_")
    if name in SUPPORTED:
        return name
    language = name.split("_", 1)[0]
    return next((shipped for shipped in SUPPORTED if shipped.split("_", 1)[0] == language), SOURCE)


def discord_name(catalogue: str) -> str:
    """Return Discord's name for a catalogue ("pt_BR" is "pt-BR"; English is "en-US")."""
    return "en-US" if catalogue == SOURCE else catalogue.replace("_", "-")


def check_locale(value: str) -> str:
    """Accept a Discord locale or a shipped catalogue name; raise ValueError naming the choices otherwise."""
    if value in DISCORD_LOCALES or value in SUPPORTED:
        return value
    known = ", ".join(sorted(DISCORD_LOCALES))
    raise ValueError(f"{value!r} is not a locale Discord knows; use one of: {known}")
