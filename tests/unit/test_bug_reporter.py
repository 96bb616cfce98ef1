"""One bug reporter for commands and components: a member's mistake gets its message, a bug an error id."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.buttons import LinkClick
from bot.discord.buttons import persistent
from bot.discord.tree import VestryTree
from bot.errors import UserFacingError


class _Response:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def is_done(self) -> bool:
        return False

    async def send_message(self, text: str, **_: Any) -> None:
        self.sent.append(text)


class _Interaction:
    """The part of an interaction the reporter answers through."""

    def __init__(self, locale: discord.Locale = discord.Locale.american_english) -> None:
        self.response = _Response()
        self.locale = locale


@pytest.fixture
async def tree() -> VestryTree:
    return VestryTree(discord.Client(intents=discord.Intents.none()))


async def test_a_bug_in_a_button_is_logged_with_the_id_the_member_is_shown(
    tree: VestryTree, caplog: pytest.LogCaptureFixture
) -> None:
    interaction = _Interaction()
    with caplog.at_level(logging.ERROR, logger="bot.discord.tree"):
        await tree.report(interaction, RuntimeError("boom"), "button link:claim:7")  # type: ignore[arg-type]
    [text] = interaction.response.sent
    shown = re.search(r"error id `([0-9a-f]{8})`", text)
    assert shown, text
    [record] = caplog.records
    assert shown.group(1) in record.getMessage() and "button link:claim:7" in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
    assert "boom" not in text  # the member never sees the internals


async def test_a_members_mistake_gets_its_own_message_and_no_log(
    tree: VestryTree, caplog: pytest.LogCaptureFixture
) -> None:
    interaction = _Interaction()
    with caplog.at_level(logging.ERROR, logger="bot.discord.tree"):
        await tree.report(interaction, UserFacingError("That PR is not open."), "/kudos")  # type: ignore[arg-type]
    assert interaction.response.sent == ["That PR is not open."]
    assert not caplog.records


async def test_the_bug_message_speaks_the_members_language(tree: VestryTree) -> None:
    interaction = _Interaction(discord.Locale.german)
    await tree.report(interaction, RuntimeError("boom"), "/kudos")  # type: ignore[arg-type]
    [text] = interaction.response.sent
    assert "error id `" in text.lower() or "fehler" in text.lower(), text
    assert "Something went wrong" not in text


async def test_a_bug_in_a_persistent_buttons_handler_reaches_the_reporter_with_the_buttons_id(
    tree: VestryTree, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(interaction: discord.Interaction, click: LinkClick) -> None:
        raise RuntimeError(f"boom {click.github_id}")

    button_type = persistent(LinkClick, broken)
    interaction = _Interaction()
    interaction.client = SimpleNamespace(tree=tree)  # type: ignore[attr-defined]
    match = re.fullmatch(LinkClick.TEMPLATE, "link:claim:7")
    assert match is not None
    button = await button_type.from_custom_id(interaction, discord.ui.Button(), match)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="bot.discord.tree"):
        await button.callback(interaction)  # type: ignore[arg-type]
    [text] = interaction.response.sent
    [record] = caplog.records
    assert "error id" in text and "button link:claim:7" in record.getMessage()
    assert record.exc_info and str(record.exc_info[1]) == "boom 7"
