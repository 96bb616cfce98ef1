"""Invitations: the [invitations] settings refuse what cannot work, and the comment text escapes what GitHub sent."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_settings
from bot.config.invitations import InvitationSettings
from bot.services.invitations import CELEBRATED, InvitationText, body, marker, plain
from cogs.invitations import preview_embed

MINIMAL = {"discord": {"guild_id": 1094583495310856262}, "github": {"repositories": ["acme/widget"]}}
INVITE = "https://discord.gg/acme"


def problems(invitations: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(MINIMAL | {"invitations": invitations})
    return {p.path: p.message for p in caught.value.problems}


def test_invitations_are_off_by_default_and_need_an_invite_link_when_on() -> None:
    assert parse_settings(MINIMAL).invitations.enabled is False
    assert "discord_invite is required" in " ".join(problems({"enabled": True}).values())
    settings = parse_settings(MINIMAL | {"invitations": {"enabled": True, "discord_invite": INVITE}})
    assert settings.invitations.on == "opened" and settings.invitations.per_hour == 20


@pytest.mark.parametrize(
    "link",
    [
        "http://discord.gg/acme",
        "https://discord.gg/",
        "https://evil.example/discord.gg/acme",
        "https://discord.gg.evil.example/acme",
        "https://discord.com/channels/1/2",
        "https://discord.gg/acme?x=1",
        "https://user@discord.gg/acme",
        "javascript:alert(1)",
    ],
)
def test_anything_but_a_discord_invite_link_is_refused(link: str) -> None:
    found = problems({"discord_invite": link})
    assert "invitations.discord_invite" in found and "invite" in found["invitations.discord_invite"]


@pytest.mark.parametrize("link", [INVITE, "https://discord.com/invite/acme-2", "https://www.discord.gg/Abc123/"])
def test_discord_invite_links_are_accepted(link: str) -> None:
    assert InvitationSettings(discord_invite=link).discord_invite == link


def test_unknown_placeholders_bad_labels_and_caps_are_named_by_their_key() -> None:
    found = problems({"message": "Hi {author}", "opt_out_labels": ["ok", "bad\nlabel"], "per_hour": 0, "on": "closed"})
    assert "unknown placeholder {author}" in found["invitations.message"]
    assert "{login}" in found["invitations.message"]
    assert "not a GitHub label name" in found["invitations.opt_out_labels[1]"]
    assert "invitations.per_hour" in found and "invitations.on" in found
    assert "invitations.message" in problems({"message": "{login.__class__}"})
    assert "invitations.bogus" in problems({"bogus": 1})


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("dev42", "dev42"),
        ("@everyone", "@\u200beveryone"),
        ("<b>hi</b>", "&lt;b&gt;hi&lt;/b&gt;"),
        ("[x](https://evil.example)", "\\[x\\]\\(https\\:\u200b//evil\\.example\\)"),
        ("www.evil.example", "w\u200bww\\.evil\\.example"),
        ("**bold** _it_ `code`", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\`"),
        ("fixes #12", "fixes \\#12"),
        ("line\nbreak\r\n# heading", "line break \\# heading"),
        ("<!-- vestry:invitation:1 -->", "&lt;\\!\\-\\- vestry\\:invitation\\:1 \\-\\-&gt;"),
        ('it\'s "quoted" & more', "it&#39;s &quot;quoted&quot; &amp; more"),
    ],
)
def test_text_from_github_is_shown_as_plain_text(raw: str, shown: str) -> None:
    assert plain(raw) == shown


def test_long_titles_are_cut_and_the_body_ends_with_its_marker() -> None:
    assert len(plain("x" * 500, 200)) == 200
    message = "Hi {login} ({title}) {invite} #{number}"
    settings = InvitationSettings(enabled=True, discord_invite=INVITE, message=message)
    item = InvitationText(github_id=7, login="dev42", repo="acme/widget", number=3, title="T" * 300)
    text = body(settings, item)
    assert text.startswith(f"Hi dev42 ({'T' * 199}…) {INVITE} #3") and text.endswith(marker(7))
    assert CELEBRATED not in text
    celebrated = body(settings, item, celebrated=True)
    assert celebrated == text.replace(f"\n\n{marker(7)}", f"\n\n{CELEBRATED}\n\n{marker(7)}")


def test_the_preview_shows_the_markdown_source_fenced() -> None:
    embed = preview_embed("Hi ```break out``` " + "y" * 5000, enabled=False)
    description = str(embed["description"])
    assert description.startswith("```md\n") and description.endswith("\n```")
    assert description.count("```") == 2 and len(description) <= 4096
    assert "off" in str(embed["footer"])
