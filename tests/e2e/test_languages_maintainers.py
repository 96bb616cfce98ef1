"""What maintainers read in their language: a maintainer whose Discord client speaks German reads `/vestry status`
(its outbox and invitation lines and the setup problems), `/vestry outbox` and its retry, and `/vestry invitation
preview` in German, while the same commands from an English client stay English.

The setup problem is real: the kudos channel is one the bot cannot see, so the first-PR post fails in the outbox
without Discord being asked (the sandbox refuses nothing: ``expect_rejections=False``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.sandbox.client import ControlClient
from tests.e2e.test_invitations import INVITE, ON
from tests.e2e.test_kudos import wait_until_live
from tests.e2e.test_languages import run
from tests.e2e.test_linking import response, wait_for_text


async def hide_the_kudos_channel_and_merge_a_first_pull_request(client: ControlClient) -> None:
    await wait_until_live(client)
    secret = (await client.post("/discord/channels", {"name": "secret-kudos", "private": True}))["id"]
    client.sandbox.services.settings.discord.channels.kudos = int(secret)  # type: ignore[attr-defined]
    await client.clock(advance=2)
    await client.user("newbie")
    await client.merge(await client.pull("newbie", "First"))
    await client.settle()


@pytest.fixture
async def sb(sandbox_factory: Callable[..., Any]) -> AsyncIterator[ControlClient]:
    async with sandbox_factory(overrides=ON, expect_rejections=False) as client:
        await hide_the_kudos_channel_and_merge_a_first_pull_request(client)
        yield client


def embed(answer: dict[str, Any]) -> dict[str, Any]:
    (response,) = answer["responses"]
    assert response["ephemeral"] is True
    (shown,) = response["embeds"]
    return shown  # type: ignore[no-any-return]


def field(shown: dict[str, Any], index: int) -> tuple[str, str]:
    return shown["fields"][index]["name"], shown["fields"][index]["value"]


async def test_a_german_maintainer_reads_status_outbox_and_the_invitation_preview_in_german(sb: ControlClient) -> None:
    status = embed(await run(sb, "owner", "vestry status", "de"))
    lines = status["description"].splitlines()
    assert "**Postausgang** 0 wartend; 1 fehlgeschlagen (`/vestry outbox`)" in lines
    assert "**Einladungen auf GitHub** 1 gesendet, 0 ausstehend, 0 fehlgeschlagen" in lines
    name, problems = field(status, 1)
    assert name == "Probleme"
    unseen, failed = problems.splitlines()
    assert unseen == (
        "⚠️ der Bot kann #secret-kudos (Kanal kudos) nicht sehen: Gib seiner Rolle dort „Kanal ansehen“ "
        "(Kanal bearbeiten → Berechtigungen)"
    )
    assert failed.startswith("⚠️ ein Auftrag vom Typ message ließ sich nicht ausführen (<#")
    assert failed.endswith("— Eintrag #1 im Postausgang, `/vestry outbox retry:1` versucht es erneut")

    outbox = embed(await run(sb, "owner", "vestry outbox", "de"))
    assert outbox["title"] == "Vestry-Postausgang"
    assert outbox["description"].startswith("Posts, Direktnachrichten und Rollenänderungen auf dem Weg zu Discord.")
    assert field(outbox, 0) == ("Wartend, je Spur", "Nichts wartet.")
    name, entries = field(outbox, 1)
    assert name == "Fehlgeschlagen: 1 (neueste zuerst; erneut versuchen mit `/vestry outbox retry:<Nummer>`)"
    assert entries.startswith("**#1** message (<#") and ") fehlgeschlagen <t:" in entries

    preview = embed(await run(sb, "owner", "vestry invitation preview", "de"))
    assert preview["title"] == "Vorschau der Einladung"
    assert preview["footer"]["text"] == (
        "Wird einmal auf dem Pull Request jeder Person gepostet, die zum ersten Mal beiträgt."
    )
    assert INVITE in preview["description"] and "Thank you for your first pull request" in preview["description"]


async def test_a_german_maintainers_retry_is_confirmed_in_german(sandbox_factory: Callable[..., Any]) -> None:
    # The retried post goes to a channel the bot still cannot see: Discord refuses the look for an earlier copy.
    async with sandbox_factory(overrides=ON, expect_rejections=True) as sb:
        await hide_the_kudos_channel_and_merge_a_first_pull_request(sb)
        assert await sb.get("/discord/rejections") == []
        (retried,) = (await run(sb, "owner", "vestry outbox", "de", retry=1))["responses"]
        assert retried["ephemeral"] is True
        assert retried["content"].startswith("Eintrag #1 im Postausgang (message, <#")
        assert retried["content"].endswith(") wird jetzt erneut versucht.")
        await sb.settle()
        refused = {(r["method"], r["status"]) for r in await sb.get("/discord/rejections")}
        assert refused <= {("GET", 403), ("POST", 403)}


async def test_a_brazilian_maintainer_reads_portuguese_and_an_english_one_english(sb: ControlClient) -> None:
    status = embed(await run(sb, "owner", "vestry status", "pt-BR"))
    assert "**Fila de saída** 0 aguardando; 1 com falha (`/vestry outbox`)" in status["description"].splitlines()
    assert field(status, 1)[1].startswith("⚠️ o bot não consegue ver #secret-kudos (canal kudos): dê ao cargo dele")
    preview = embed(await run(sb, "owner", "vestry invitation preview", "pt-BR"))
    assert preview["title"] == "Prévia do convite"

    english = embed(await sb.command("owner", "vestry status"))
    assert "**Outbox** 0 waiting; 1 failed (`/vestry outbox`)" in english["description"].splitlines()
    assert "**Invitations on GitHub** 1 sent, 0 pending, 0 failed" in english["description"].splitlines()
    assert field(english, 1)[1].splitlines()[0] == (
        "⚠️ the bot cannot see #secret-kudos (kudos channel): give its role View Channel there "
        "(Edit Channel → Permissions)"
    )
    outbox = embed(await sb.command("owner", "vestry outbox"))
    assert outbox["title"] == "Vestry outbox" and field(outbox, 0) == ("Waiting, per lane", "Nothing waiting.")
    preview = embed(await sb.command("owner", "vestry invitation preview"))
    assert preview["footer"]["text"] == "Posted once on each first-timer's pull request."


async def test_a_german_maintainer_links_unlinks_audits_and_backfills_in_german(sandbox: ControlClient) -> None:
    bob = await sandbox.add_member("bob")
    await sandbox.user("dev42")
    linked = response(await run(sandbox, "owner", "vestry link", "de", member="bob", github="dev42"))
    assert linked["content"] == f"<@{bob}> ist jetzt mit @dev42 verknüpft."
    unlinked = response(await run(sandbox, "owner", "vestry unlink", "de", member="bob"))
    assert unlinked["content"] == f"Die Verknüpfung von <@{bob}> mit @dev42 ist aufgehoben."
    audit = embed(await run(sandbox, "owner", "vestry audit", "pt-BR"))
    assert audit["title"] == "Registro de vínculos (mais recentes primeiro)"
    assert "**unlink**" in audit["description"].splitlines()[0]

    await wait_until_live(sandbox)
    started = await run(sandbox, "owner", "vestry backfill", "de")
    finished = await wait_for_text(sandbox, started["interaction"], "Import abgeschlossen.", timeout=60)
    assert finished["content"].splitlines()[1].startswith("**sandbox/project**: ")
    english = await sandbox.command("owner", "vestry backfill")
    again = await wait_for_text(sandbox, english["interaction"], "Backfill finished.", timeout=60)
    assert again["content"].splitlines()[1] == "**sandbox/project**: already imported."
    wrong = response(await run(sandbox, "owner", "vestry backfill", "de", repo="acme/elsewhere"))
    assert wrong["content"].startswith("Vestry folgt 'acme/elsewhere' nicht. Gefolgt wird: sandbox/project")
