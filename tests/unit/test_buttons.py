"""Persistent buttons' ids: what each kind writes, its template reads back, and nothing else reads it."""

from __future__ import annotations

import re

import pytest

from bot.buttons import PERSISTENT, LinkClick, NudgeClick, PageClick, PromotionClick, StaleClick
from bot.fit import MAX_CUSTOM_ID
from bot.services.reviews.models import button_key

CLICKS = [
    NudgeClick("snooze", button_key("user:583231")),
    NudgeClick("onit", button_key("team:octo-org/" + "x" * 100)),
    PromotionClick("approve", 1),
    PromotionClick("decline", 2**63 - 1),
    PageClick("merged_prs", "all", 0),
    PageClick("issues_closed", "month", -1),
    LinkClick(),
    LinkClick(2**63 - 1),
]


@pytest.mark.parametrize("click", CLICKS, ids=lambda click: click.custom_id())
def test_every_kind_reads_back_what_it_writes_and_no_other_kind_reads_it(click: object) -> None:
    custom_id = click.custom_id()  # type: ignore[attr-defined]
    assert len(custom_id) <= MAX_CUSTOM_ID
    readers = [kind for kind in PERSISTENT if re.fullmatch(kind.TEMPLATE, custom_id)]
    assert readers == [type(click)]
    match = re.fullmatch(type(click).TEMPLATE, custom_id)
    assert match is not None and type(click).parse(match.groupdict()) == click  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("custom_id", "expected"),
    [
        # Reminders posted before reviewer keys were shortened carried the whole key.
        ("nudge:snooze:team:octo-org/reviewers", NudgeClick("snooze", "team:octo-org/reviewers")),
        ("lb:merged_prs:week:3", PageClick("merged_prs", "week", 3)),
        ("ladder:decline:42", PromotionClick("decline", 42)),
        ("link:claim:583231", LinkClick(583231)),
    ],
)
def test_ids_already_under_posts_are_still_read(custom_id: str, expected: object) -> None:
    match = re.fullmatch(type(expected).TEMPLATE, custom_id)
    assert match is not None and type(expected).parse(match.groupdict()) == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "custom_id", ["nudge:later:user:1", "nudge:onit:", "lb:merged_prs:all:two", "ladder:approve:", "link:claim:x"]
)
def test_a_damaged_or_retired_id_of_ours_is_read_as_stale_and_by_nothing_else(custom_id: str) -> None:
    readers = [kind for kind in PERSISTENT if re.fullmatch(kind.TEMPLATE, custom_id)]
    assert readers == [StaleClick]
    match = re.fullmatch(StaleClick.TEMPLATE, custom_id)
    assert match is not None and StaleClick.parse(match.groupdict()).prefix == custom_id.split(":")[0]


def test_an_id_that_is_not_ours_is_read_by_no_kind() -> None:
    assert not [kind for kind in PERSISTENT if re.fullmatch(kind.TEMPLATE, "someone-else:1")]


@pytest.mark.parametrize(
    "build",
    [
        lambda: NudgeClick("snooze", "has space"),
        lambda: NudgeClick("snooze", "k" * 91),
        lambda: PageClick("Merged PRs", "all", 0),
        lambda: PromotionClick("approve", -1),
    ],
)
def test_a_click_whose_id_its_template_would_not_read_cannot_be_built(build: object) -> None:
    with pytest.raises(ValueError, match="does not match"):
        build()  # type: ignore[operator]


def test_every_kind_in_the_module_is_read_and_has_its_prefix_known_to_stale() -> None:
    import bot.buttons as module

    kinds = {value for value in vars(module).values() if isinstance(value, type) and hasattr(value, "TEMPLATE")}
    assert kinds == set(PERSISTENT)
    for kind in StaleClick.KINDS:
        assert re.match(r"(\w+):", kind.TEMPLATE) and kind.TEMPLATE.split(":")[0] in StaleClick.PREFIXES
