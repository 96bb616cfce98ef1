"""A Notice: a sentence made in one place (a setup check, the status collector) and shown in another, English where it
is used as a string (logs, stored errors, existing comparisons) and in the reader's language where it is shown."""

from __future__ import annotations

from bot.i18n import ENGLISH, N_, Notice, lang, say
from bot.status import lane_label

MISSING = N_("missing {permissions} in #{channel} ({purpose} channel): allow them for the bot's role")


def test_a_notice_is_the_english_sentence_wherever_it_is_a_string() -> None:
    notice = Notice(N_("the bot cannot see itself in the server"))
    assert (
        notice == "the bot cannot see itself in the server"
        and f"{notice}!" == "the bot cannot see itself in the server!"
    )
    assert say(notice, lang("de")) == "der Bot kann sich selbst auf dem Server nicht sehen"
    assert say("plain text stays as it is", lang("de")) == "plain text stays as it is"


def test_values_that_are_notices_or_lists_are_translated_and_joined_the_languages_way() -> None:
    labels = [Notice(N_("View Channel")), Notice(N_("Send Messages"))]
    notice = Notice(MISSING, permissions=labels, channel="kudos", purpose="kudos")
    assert notice == "missing View Channel and Send Messages in #kudos (kudos channel): allow them for the bot's role"
    assert notice.in_(lang("de")) == (
        "in #kudos (Kanal kudos) fehlen Berechtigungen: Kanal ansehen und Nachrichten senden; erlaube sie der Rolle "
        "des Bots"
    )
    assert notice.in_(lang("pt-BR")).startswith(
        "faltam permissões em #kudos (canal kudos): Ver canal e Enviar mensagens;"
    )
    assert say(lane_label("dm:42"), lang("de")) == "Direktnachrichten an <@42>" and lane_label("channel:7") == "<#7>"


def test_a_notice_with_a_count_takes_each_languages_plural_form() -> None:
    def failed(count: int) -> Notice:
        return Notice.ngettext(
            "{count} invitation comment could not be posted on GitHub; the last error: {error} (the token needs write "
            "access to issues and pull requests)",
            "{count} invitation comments could not be posted on GitHub; the last error: {error} (the token needs "
            "write access to issues and pull requests)",
            count,
            error=Notice(N_("unknown error")),
        )

    assert failed(1).startswith("1 invitation comment could not") and "last error: unknown error" in failed(1)
    assert failed(2).in_(lang("de")).startswith("2 Einladungskommentare ließen sich")
    assert failed(1).in_(lang("de")).startswith("1 Einladungskommentar ließ sich")
    assert "der letzte Fehler: unbekannter Fehler" in failed(1).in_(lang("de"))
    assert failed(1234).in_(lang("pt-BR")).startswith("1.234 comentários de convite")
    assert failed(3).in_(ENGLISH) == failed(3)
