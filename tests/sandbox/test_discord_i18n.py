"""The emulator's rules for localised commands, modals, reactions and locales, as Discord's."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from bot.sandbox.discord.emulator import DiscordEmulator
from bot.sandbox.discord.menus import validate_modal
from bot.sandbox.discord.rest import ApiError
from tests.sandbox.conftest import EmuTestBot
from tests.sandbox.test_discord_strict import call, field_of


def _command(**extra: Any) -> dict[str, Any]:
    return {"name": "leaderboard", "description": "Who did most", "type": 1, **extra}


def _option(**extra: Any) -> dict[str, Any]:
    return {"name": "period", "description": "When", "type": 3, **extra}


BAD_LOCALISATIONS = [
    ("0.name_localizations.klingon", [_command(name_localizations={"klingon": "bestenliste"})]),
    ("0.name_localizations.de", [_command(name_localizations={"de": "Bestenliste"})]),  # lower case only
    ("0.name_localizations.de", [_command(name_localizations={"de": "beste liste"})]),
    ("0.name_localizations.pt-BR", [_command(name_localizations={"pt-BR": "r" * 33})]),
    ("0.description_localizations.de", [_command(description_localizations={"de": ""})]),
    ("0.description_localizations.de", [_command(description_localizations={"de": "d" * 101})]),
    ("0.options.0.name_localizations.de", [_command(options=[_option(name_localizations={"de": "Zeit Raum"})])]),
    ("0.options.0.description_localizations.de", [_command(options=[_option(description_localizations={"de": ""})])]),
    (
        "0.options.0.choices.0.name_localizations.pt-BR",
        [
            _command(
                options=[_option(choices=[{"name": "week", "value": "w", "name_localizations": {"pt-BR": "s" * 101}}])]
            )
        ],
    ),
    ("0.name_localizations.de", [{"name": "Thank for this", "type": 3, "name_localizations": {"de": "D" * 33}}]),
    ("0.description_localizations", [{"name": "Give kudos", "type": 2, "description_localizations": {"de": "Danke"}}]),
]


@pytest.mark.parametrize(
    ("field", "commands"), BAD_LOCALISATIONS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_LOCALISATIONS)]
)
async def test_invalid_command_localisations_are_refused_as_form_errors(
    discord_emu: DiscordEmulator, field: str, commands: list[dict[str, Any]]
) -> None:
    path = f"/applications/{discord_emu.application_id}/guilds/{discord_emu.guild_id}/commands"
    status, body, _ = await call(discord_emu, "PUT", path, commands)
    assert (status, body["code"]) == (400, 50035), body
    assert field_of(body) == field
    assert discord_emu.rejections()[-1]["code"] == 50035  # recorded for GET /discord/rejections


async def test_valid_localisations_are_stored_and_served(discord_emu: DiscordEmulator) -> None:
    path = f"/applications/{discord_emu.application_id}/guilds/{discord_emu.guild_id}/commands"
    commands = [
        _command(
            name_localizations={"de": "bestenliste", "pt-BR": "classificação"},
            description_localizations={"de": "Wer am meisten beitrug", "pt-BR": "Quem mais contribuiu"},
            options=[_option(choices=[{"name": "week", "value": "w", "name_localizations": {"de": "Woche"}}])],
        ),
        {
            "name": "Thank for this",
            "type": 3,
            "name_localizations": {"de": "Danke dafür", "pt-BR": "Agradecer por isto"},
        },
    ]
    status, body, _ = await call(discord_emu, "PUT", path, commands)
    assert status == 200, body
    stored = {c["name"]: c for c in discord_emu.synced_commands}
    assert stored["leaderboard"]["name_localizations"]["pt-BR"] == "classificação"
    assert stored["Thank for this"]["name_localizations"]["de"] == "Danke dafür"


GOOD_MODAL = {
    "custom_id": "thanks",
    "title": "Thank alice",
    "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "note", "style": 2, "label": "Why?", "max_length": 300}]}
    ],
}


def _modal(**changes: Any) -> dict[str, Any]:
    modal = {**GOOD_MODAL, "components": [dict(GOOD_MODAL["components"][0])]}
    modal["components"][0]["components"] = [{**GOOD_MODAL["components"][0]["components"][0]}]
    for key, value in changes.items():
        if key.startswith("input_"):
            modal["components"][0]["components"][0][key[6:]] = value
        else:
            modal[key] = value
    return modal


BAD_MODALS = [
    ("data.title", _modal(title="T" * 46)),
    ("data.custom_id", _modal(custom_id="c" * 101)),
    ("data.components", _modal(components=[])),
    ("data.components", _modal(components=[GOOD_MODAL["components"][0]] * 6)),
    ("data.components.0.components.0.label", _modal(input_label="L" * 46)),
    ("data.components.0.components.0.style", _modal(input_style=3)),
    ("data.components.0.components.0.placeholder", _modal(input_placeholder="p" * 101)),
    ("data.components.0.components.0.max_length", _modal(input_max_length=4001)),
    ("data.components.0.components.0.min_length", _modal(input_min_length=10, input_max_length=5)),
    ("data.components.0.components.0.value", _modal(input_value="v" * 4001)),
]


@pytest.mark.parametrize(("field", "modal"), BAD_MODALS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_MODALS)])
def test_modals_over_discords_limits_are_form_errors(field: str, modal: dict[str, Any]) -> None:
    validate_modal(GOOD_MODAL)
    with pytest.raises(ApiError) as refused:
        validate_modal(modal)
    assert refused.value.code == 50035
    assert field_of(refused.value.body()) == field


async def test_a_modal_is_submitted_only_by_the_member_it_was_shown_to(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    await discord_emu.add_member("alice")
    opened = await discord_emu.invoke_command("owner", "feedback", {}, locale="de")
    (answer,) = opened["responses"]
    custom_id = answer["modal"]["custom_id"]
    with pytest.raises(LookupError, match="shown to another member"):
        await discord_emu.submit_modal("alice", opened["interaction"], custom_id, {"feedback-text": "hi"})
    done = await discord_emu.submit_modal("owner", opened["interaction"], custom_id, {"feedback-text": "gut"})
    assert done["responses"][0]["content"] == "thanks: gut"
    record = discord_emu.interactions.records[int(done["interaction"])]
    assert record.locale == "de"  # the submission carries the locale of the interaction that opened it


async def test_unknown_locales_are_refused_and_the_guilds_locale_reaches_the_bot(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    with pytest.raises(ValueError, match="is not a Discord locale"):
        await discord_emu.invoke_command("owner", "secret", {}, locale="de-DE")
    discord_emu.set_preferred_locale("pt-BR")
    guild = discord_emu_bot.get_guild(discord_emu.guild_id)
    for _ in range(200):
        if guild is not None and guild.preferred_locale is discord.Locale.brazil_portuguese:
            break
        await asyncio.sleep(0.01)
    assert guild is not None and guild.preferred_locale is discord.Locale.brazil_portuguese
    result = await discord_emu.invoke_command("owner", "secret", {}, locale="de")
    assert discord_emu.interactions.records[int(result["interaction"])].locale == "de"


async def test_the_bots_own_reactions_follow_discords_rules(
    discord_emu: DiscordEmulator, discord_emu_bot: EmuTestBot
) -> None:
    message = await discord_emu.member_message("general", "owner", "a helpful answer")
    channel = discord_emu.world.channel("general").id
    base = f"/channels/{channel}/messages/{message}/reactions"
    status, _, _ = await call(discord_emu, "PUT", f"{base}/%F0%9F%99%8F/@me")
    assert status == 204
    assert discord_emu.reactions.listing(message) == [{"emoji": "🙏", "count": 1, "me": True, "users": ["Vestry"]}]
    status, body, _ = await call(discord_emu, "PUT", f"{base}/party:123/@me")
    assert (status, body["code"]) == (400, 10014)  # the sandbox guild has no custom emojis
    status, body, _ = await call(discord_emu, "PUT", f"/channels/{channel}/messages/1/reactions/%F0%9F%99%8F/@me")
    assert (status, body["code"]) == (404, 10008)
    status, _, _ = await call(discord_emu, "DELETE", f"{base}/%F0%9F%99%8F/@me")
    assert status == 204 and discord_emu.reactions.listing(message) == [
        {"emoji": "🙏", "count": 0, "me": False, "users": []}
    ]
    assert await discord_emu.add_reaction("owner", message, "🙏") is True
    assert await discord_emu.add_reaction("owner", message, "🙏") is False  # one reaction per member and emoji
    assert await discord_emu.add_reaction("owner", message, "🙏", add=False) is True
