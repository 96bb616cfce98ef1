"""The translation layer: choosing a catalogue, loading it from .po or .mo, plural forms and locale formats."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from discord import app_commands

from bot.config import ConfigError, parse_settings
from bot.discord.translator import CatalogueTranslator
from bot.errors import UserFacingError
from bot.i18n import catalog, catalogue_for, lang
from bot.i18n.extract import COMMAND_NAME
from bot.services.digest.periods import Period
from bot.services.digest.render import duration_text, span_text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("pt-BR", "pt_BR"),
        ("de", "de"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr", "en"),
        (None, "en"),
        ("pt_BR", "pt_BR"),
    ],
)
def test_a_discord_locale_picks_the_shipped_catalogue_or_english(given: str | None, expected: str) -> None:
    assert catalogue_for(given) == expected


def test_ordinals_follow_each_language() -> None:
    assert [lang("en-US").ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 113)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "113th"
    ]  # fmt: skip
    assert [lang("de").ordinal(n) for n in (1, 2, 11)] == ["1.", "2.", "11."]
    assert [lang("pt-BR").ordinal(n) for n in (1, 2, 11)] == ["1º", "2º", "11º"]


def test_plural_forms_follow_each_language() -> None:
    german, portuguese = lang("de"), lang("pt-BR")
    assert german.ngettext("{count} reviewed PR", "{count} reviewed PRs", 1) == "1 reviewten PR"
    assert german.ngettext("{count} reviewed PR", "{count} reviewed PRs", 0) == "0 reviewte PRs"
    # Portuguese treats zero like one ("0 PR revisado"); German and English do not.
    assert portuguese.ngettext("{count} reviewed PR", "{count} reviewed PRs", 0) == "0 PR revisado"
    assert portuguese.ngettext("{count} reviewed PR", "{count} reviewed PRs", 2000) == "2.000 PRs revisados"


def test_numbers_dates_and_durations_are_formatted_for_the_locale() -> None:
    week = Period(datetime(2030, 1, 4, tzinfo=UTC), datetime(2030, 1, 11, tzinfo=UTC))
    assert span_text(week, "UTC") == "4 Jan – 11 Jan 2030"
    assert span_text(week, "UTC", lang("de")) == "4. Jan. – 11. Jan. 2030"
    assert span_text(week, "UTC", lang("pt-BR")) == "4 de jan. – 11 de jan. de 2030"
    assert lang("de").number(1234.5) == "1.234,5" and lang("en-US").number(1234.5) == "1,234.5"
    assert duration_text(timedelta(hours=5, minutes=20), lang("de")) == "5 Std. 20 Min."
    assert lang("pt-BR").duration(timedelta(days=-3), relative=True) == "há 3 dias"


def test_a_users_mistake_is_told_in_their_language() -> None:
    error = UserFacingError("Keep the reason to {limit} characters (yours has {length}).", limit=300, length=412)
    assert error.message == "Keep the reason to 300 characters (yours has 412)."
    assert error.translated(lang("de")) == "Halte den Grund bei höchstens 300 Zeichen (deiner hat 412)."
    assert UserFacingError("Not in any catalogue {braces}").translated(lang("de")) == "Not in any catalogue {braces}"


def test_the_po_file_is_read_when_no_compiled_catalogue_exists_and_a_newer_mo_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "vestry.po").write_text('msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Hello"\nmsgstr "Hallo (po)"\n')
    monkeypatch.setattr(catalog, "LOCALES_DIR", tmp_path)
    catalog.translations.cache_clear()
    try:
        assert catalog.translations("de").gettext("Hello") == "Hallo (po)"
        compiled = Catalog(locale="de")
        compiled.add("Hello", "Hallo (mo)")
        with (folder / "vestry.mo").open("wb") as out:
            write_mo(out, compiled)
        catalog.translations.cache_clear()
        assert catalog.translations("de").gettext("Hello") == "Hallo (mo)"
    finally:
        catalog.translations.cache_clear()


async def test_the_translator_serves_command_localisations_only_for_shipped_locales() -> None:
    translator = CatalogueTranslator()

    @app_commands.command(name="leaderboard")
    async def leaderboard(interaction: discord.Interaction) -> None:
        """Show who contributed most: merged PRs, reviews, merges, issues closed or kudos."""

    name = app_commands.TranslationContext(app_commands.TranslationContextLocation.command_name, leaderboard)
    text = app_commands.locale_str("leaderboard")
    assert await translator.translate(text, discord.Locale.german, name) == "bestenliste"
    assert await translator.translate(text, discord.Locale.brazil_portuguese, name) == "ranking"
    assert await translator.translate(text, discord.Locale.french, name) is None
    assert await translator.translate(text, discord.Locale.american_english, name) is None
    payload = await leaderboard.get_translated_payload(
        app_commands.CommandTree(discord.Client(intents=discord.Intents.none())), translator
    )
    assert payload["name_localizations"] == {"de": "bestenliste", "pt-BR": "ranking"}
    assert payload["description_localizations"]["de"].startswith("Zeigt, wer am meisten")
    assert COMMAND_NAME == "command name"


BASE = '[discord]\nguild_id = 1\n[github]\nrepositories = ["a/b"]\n'


def settings_of(text: str) -> Any:
    return parse_settings(tomllib.loads(text))


def test_config_refuses_unknown_locales_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match=r"templates\.klingon: 'klingon' is not a locale Discord knows"):
        settings_of(BASE + '[templates.klingon]\nfirst_pr = "Qapla, {author}!"\n')
    with pytest.raises(ConfigError, match="is not a locale Discord knows"):
        settings_of(BASE.replace("guild_id = 1", 'guild_id = 1\nlocale = "deutsch"'))
    with pytest.raises(ConfigError, match="unknown placeholder"):
        settings_of(BASE + '[templates.de]\nfirst_pr = "Hallo {autor}!"\n')
    settings = settings_of(BASE + '[templates.pt-BR]\nfirst_pr = "Bem-vindo, {author}!"\n')
    assert settings.template("pt_BR", "first_pr") == "Bem-vindo, {author}!"
