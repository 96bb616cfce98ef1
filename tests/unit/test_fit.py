"""The one place that fits messages into Discord's limits, and the pacing of edits of hour-old posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.discord.gateway_errors import describe_gateway_end
from bot.discord.pacing import DmOpener, OldEditBudget
from bot.fit import fit_buttons, fit_choices, fit_content, fit_embeds, fit_message
from bot.messages import Button, OutMessage, Reply
from bot.sandbox.discord import validate


def test_content_is_cut_to_2000_with_an_ellipsis() -> None:
    assert fit_content("x" * 2000) == "x" * 2000
    cut = fit_content("x" * 5000)
    assert len(cut) == 2000 and cut.endswith("…")


def test_embeds_are_fitted_until_discord_would_accept_them() -> None:
    huge = {
        "title": "t" * 300,
        "description": "d" * 5000,
        "fields": [{"name": "n" * 300, "value": "v" * 2000}] * 30 + [{"name": "", "value": "empty"}],
        "footer": {"text": "f" * 3000},
        "author": {"name": "a" * 300},
        "color": 0x1000000,
        "url": "not a url",
        "timestamp": "2026-03-02T12:00:00+00:00",
    }
    fitted = fit_embeds([huge] * 12)
    assert len(fitted) <= 10
    validate.check_embeds(fitted)  # the emulator's rules: raises on anything Discord refuses
    assert fitted[0]["title"].endswith("…") and "color" not in fitted[0] and "url" not in fitted[0]
    assert fitted[0]["timestamp"] == "2026-03-02T12:00:00+00:00"
    assert "timestamp" not in fit_embeds([{"title": "t", "timestamp": "yesterday"}])[0]


def test_buttons_discord_would_refuse_are_left_out_and_labels_cut(caplog: pytest.LogCaptureFixture) -> None:
    buttons = [
        Button("ok", custom_id="a"),
        Button("dup", custom_id="a"),
        Button("long id", custom_id="x" * 101),
        Button("bad link", url="ftp://example.com"),
        Button("l" * 100, custom_id="b"),
        *[Button(str(i), custom_id=f"c{i}") for i in range(30)],
    ]
    fitted = fit_buttons(buttons)
    assert len(fitted) == 25 and [b.custom_id for b in fitted[:2]] == ["a", "b"]
    assert len(fitted[1].label) == 80
    assert "left out" in caplog.text


def test_out_messages_and_replies_are_fitted_alike() -> None:
    out = fit_message(OutMessage(content="x" * 3000, mention_users=tuple(range(150))))
    reply = fit_message(Reply(content="x" * 3000))
    assert len(out.content) == len(reply.content) == 2000 and len(out.mention_users) == 100


def test_autocomplete_choices_fit() -> None:
    choices = [("n" * 150, "v")] + [(f"{i}", f"{i}") for i in range(30)] + [("long value", "v" * 101)]
    fitted = fit_choices(choices)
    assert len(fitted) == 25 and len(fitted[0][0]) == 100 and all(len(v) <= 100 for _, v in fitted)


def test_edits_of_hour_old_messages_stay_within_a_budget_per_channel() -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    clock = [0.0]
    budget = OldEditBudget(budget=2, window=3600, now=lambda: clock[0])
    old = discord.utils.time_snowflake(now - timedelta(hours=2))
    fresh = discord.utils.time_snowflake(now - timedelta(minutes=5))
    assert [budget.allow(1, old, now) for _ in range(3)] == [True, True, False]
    assert budget.allow(1, fresh, now) and budget.allow(2, old, now)
    clock[0] = 3600.0
    assert budget.allow(1, old, now)


def test_fatal_gateway_ends_name_the_fix() -> None:
    assert "members_intent = false" in describe_gateway_end(discord.PrivilegedIntentsRequired(None))
    assert "Reset Token" in describe_gateway_end(discord.LoginFailure())
    assert "start Vestry again" in describe_gateway_end(KeyError("d"))


def test_new_dm_channels_are_opened_at_a_pace_discord_accepts() -> None:
    clock = [0.0]
    opener = DmOpener(budget=2, window=60, now=lambda: clock[0])
    assert [opener.wait_before_opening() for _ in range(3)] == [0.0, 0.0, 60.0]
    clock[0] = 60.0
    assert opener.wait_before_opening() == 0.0
