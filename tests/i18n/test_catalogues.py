"""The catalogue check CI runs: shipped languages are complete, their placeholders and plural forms right, and
every translated command name or description is one Discord accepts."""

from __future__ import annotations

import ast
import string
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest
from babel.dates import format_datetime
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import SHIPPED, po_path
from bot.i18n.extract import COMMAND_NAME, MENU_NAME, command_strings
from bot.sandbox.discord.commands import _valid_name

ROOT = Path(__file__).resolve().parents[2]
Key = tuple[str | None, str]


def source_messages() -> dict[Key, tuple[str, ...]]:
    """Extract every member-facing string from the source, as `pybabel extract -F babel.cfg -k N_` does."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
    found: dict[Key, tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[(context, forms[0])] = forms
    return found


def catalogue(locale: str) -> Catalog:
    with po_path(locale).open("rb") as source:
        return read_po(source, locale=locale)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def entries(locale: str) -> list[Message]:
    return [message for message in catalogue(locale) if message.id]


@pytest.fixture(scope="module")
def extracted() -> dict[Key, tuple[str, ...]]:
    return source_messages()


def test_the_extraction_finds_commands_menus_replies_and_the_digest(extracted: dict[Key, tuple[str, ...]]) -> None:
    assert (COMMAND_NAME, "kudos") in extracted
    assert (MENU_NAME, "Thank for this") in extracted and (MENU_NAME, "Give kudos") in extracted
    assert (None, "Thank a member in public for their help.") in extracted  # a docstring describing /kudos
    assert (None, "🙌 {receiver}, {giver} says thank you!") in extracted
    assert (None, "{count} PR") in extracted


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_source_string_is_translated_and_nothing_is_fuzzy_or_stale(
    locale: str, extracted: dict[Key, tuple[str, ...]]
) -> None:
    shipped = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in entries(locale)}
    missing = sorted(str(key) for key in extracted if key not in shipped)
    stale = sorted(str(key) for key in shipped if key not in extracted)
    assert not missing, f"{locale}: not in the catalogue (run pybabel update, then translate): {missing}"
    assert not stale, f"{locale}: no longer in the source (run pybabel update): {stale}"
    for message in shipped.values():
        assert not message.fuzzy, f"{locale}: fuzzy entry {message.id!r}"
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(form.strip() for form in forms), f"{locale}: untranslated {message.id!r}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_placeholders_are_the_same_in_the_source_and_the_translation(locale: str) -> None:
    for message in entries(locale):
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        wanted = set().union(*(fields(text) for text in sources))
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        for form in forms:
            assert fields(form) == wanted, f"{locale}: {message.id!r} → {form!r} changes the placeholders"


@pytest.mark.parametrize("locale", SHIPPED)
def test_plural_entries_have_every_form_the_language_needs(locale: str) -> None:
    needed = catalogue(locale).num_plurals
    for message in entries(locale):
        if message.pluralizable:
            assert len(message.string) == needed, f"{locale}: {message.id[0]!r} needs {needed} forms"


@pytest.mark.parametrize("locale", SHIPPED)
def test_translated_command_names_and_descriptions_are_valid_for_discord(locale: str) -> None:
    descriptions = {
        text
        for path in (ROOT / "cogs").glob("*.py")
        for _, kind, text, _ in command_strings(path.read_text())
        if kind == "gettext" and isinstance(text, str)
    }
    for message in entries(locale):
        if message.context == COMMAND_NAME:
            assert _valid_name(message.string), f"{locale}: {message.string!r} is no valid Discord command name"
        elif message.context == MENU_NAME:
            assert 1 <= len(message.string) <= 32, f"{locale}: context-menu name {message.string!r}"
        elif message.id in descriptions:
            assert 1 <= len(message.string) <= 100, f"{locale}: description over 100 characters: {message.string!r}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_date_patterns_are_patterns_babel_can_format(locale: str) -> None:
    for message in entries(locale):
        if message.context == "date pattern":
            formatted = format_datetime(datetime(2030, 1, 4, 9, 30, tzinfo=UTC), message.string, locale=locale)
            assert ("4" in formatted and "2030" not in formatted) or "y" in message.string


def _translated(node: ast.AST) -> bool:
    """Whether an expression contains a call that translates (gettext, ngettext, pgettext)."""
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in ("gettext", "ngettext", "pgettext")
        for call in ast.walk(node)
    )


def _words(node: ast.AST) -> bool:
    """Whether an expression glues literal text with letters (not a newline or punctuation) into the string."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(char.isalpha() for char in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_words(part) for part in node.values)
    if isinstance(node, ast.BinOp):
        return _words(node.left) or _words(node.right)
    return False


def test_no_member_facing_sentence_is_glued_from_translated_fragments() -> None:
    glued = []
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")]:
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                parts = [node.left, node.right]
            elif isinstance(node, ast.JoinedStr):
                parts = list(node.values)
            else:
                continue
            if any(_translated(part) for part in parts) and any(_words(part) for part in parts):
                glued.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not glued, f"sentences glued from translated pieces (use one template with placeholders): {glued}"


async def test_the_translated_command_payloads_are_ones_discord_accepts(tmp_path: Path) -> None:
    from bot.app import RunOptions, build_services
    from bot.clock import ManualClock
    from bot.config import load_secrets, parse_settings
    from bot.db import Database
    from bot.discord.client import VestryBot, discover_cogs
    from bot.discord.translator import CatalogueTranslator
    from bot.sandbox.discord.commands import _check_kinds, _validate_command

    settings = parse_settings(
        {
            "discord": {"guild_id": 1094583495310856262, "channels": {"kudos": 1094583495310856263}},
            "github": {"repositories": ["acme/widget"]},
            "webhooks": {"enabled": False},
            "database": {"path": str(tmp_path / "v.sqlite3")},
        }
    )
    db = Database(settings.database.path)
    await db.open()
    await db.migrate()
    bot = VestryBot(
        build_services(settings, load_secrets({}), db, ManualClock(datetime(2030, 1, 4, tzinfo=UTC)), RunOptions())
    )
    try:
        for name in discover_cogs():
            await bot.load_extension(name)
        translator = CatalogueTranslator()
        payload = [await command.get_translated_payload(bot.tree, translator) for command in bot.tree.get_commands()]
        payload += [
            await menu.get_translated_payload(bot.tree, translator)
            for kind in (discord.AppCommandType.user, discord.AppCommandType.message)
            for menu in bot.tree.get_commands(type=kind)
        ]
    finally:
        await bot.close()
        await db.close()
    _check_kinds(payload)
    for index, item in enumerate(payload):
        _validate_command(index, item)  # raises Discord's 400 (50035) for any invalid localisation
    by_name = {item["name"]: item for item in payload}
    assert by_name["leaderboard"]["name_localizations"] == {"de": "bestenliste", "pt-BR": "ranking"}
    assert by_name["Thank for this"]["name_localizations"] == {"de": "Danke dafür", "pt-BR": "Agradecer por isto"}
    assert set(by_name["kudos"]["description_localizations"]) == {"de", "pt-BR"}
