"""Persistent buttons as discord.py dynamic items: a click's custom_id is read by its kind's template and parser
(bot/buttons.py) and handed, parsed, to the handler of the cog that registered the kind.

A cog registers its kinds in ``cog_load`` and removes them in ``cog_unload``::

    self.buttons = (persistent(NudgeClick, self.on_button),)
    self.bot.add_dynamic_items(*self.buttons)

A handler's error goes to the one bug reporter (``VestryTree.report``), like a command's: a member's mistake gets
its message, a bug an error id.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from bot.buttons import Click, StaleClick
from bot.discord.tree import VestryTree
from bot.errors import UserFacingError
from bot.i18n import N_

C = TypeVar("C", bound=Click)
Press = Callable[[discord.Interaction, C], Awaitable[None]]
PersistentButton = type[discord.ui.DynamicItem[discord.ui.Button[Any]]]


def persistent(kind: type[C], on_press: Press[C]) -> PersistentButton:
    """Make the dynamic item that reads ``kind``'s ids and calls ``on_press`` with the parsed click."""

    class Persistent(discord.ui.DynamicItem[discord.ui.Button[Any]], template=kind.TEMPLATE):
        def __init__(self, custom_id: str, click: C) -> None:
            super().__init__(discord.ui.Button(custom_id=custom_id))
            self.click = click

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
        ) -> Persistent:
            return cls(match.string, kind.parse(match.groupdict()))

        async def callback(self, interaction: discord.Interaction) -> None:
            try:
                await on_press(interaction, self.click)
            except Exception as exc:
                tree = getattr(interaction.client, "tree", None)
                if not isinstance(tree, VestryTree):
                    raise
                await tree.report(interaction, exc, f"button {self.custom_id}")

    Persistent.__name__ = Persistent.__qualname__ = f"{kind.__name__}Button"
    return Persistent


#: What a member reads when a button of Vestry's can no longer be read (an older version's, or damaged).
STALE_ANSWERS = {
    "nudge": N_("This button is from an older version of Vestry; use /reviews to see the queue."),
    "lb": N_("That leaderboard button is out of date; run /leaderboard again."),
    "ladder": N_("That button is out of date."),
    "link": N_("This button is broken; use `/link` instead."),
}


async def answer_stale(interaction: discord.Interaction, click: StaleClick) -> None:
    """Tell the member the button is out of date and what to use instead."""
    raise UserFacingError(STALE_ANSWERS[click.prefix])
