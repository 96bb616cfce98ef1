"""Languages end to end: each member reads replies and command names in their own language, channel posts follow
the server's (or the configured) locale, and the digest speaks Portuguese with the right plurals and dates."""

from __future__ import annotations

from typing import Any

from bot.sandbox.client import ControlClient
from tests.e2e.test_digest import MONDAY, REPO, SLOT, digest_posts, reviewed_and_merged, started
from tests.e2e.test_thanks import menu, only, submit, until


async def run(sb: ControlClient, who: str, command: str, locale: str, **options: Any) -> dict[str, Any]:
    """Run a slash command as ``who``, whose Discord client speaks ``locale``."""
    body = {"member": who, "command": command, "options": options, "locale": locale}
    return await sb.post("/discord/commands", body)  # type: ignore[no-any-return]


async def test_a_german_member_reads_german_while_channel_posts_follow_the_servers_locale(
    sandbox: ControlClient,
) -> None:
    sb = sandbox
    alice, jonas = await sb.add_member("alice"), await sb.add_member("jonas")
    commands = {c["name"]: c for c in await sb.get("/discord/commands")}
    assert commands["leaderboard"]["name_localizations"]["de"] == "bestenliste"
    assert commands["leaderboard"]["description_localizations"]["de"].startswith("Zeigt, wer am meisten")
    assert commands["Thank for this"]["name_localizations"] == {"de": "Danke dafür", "pt-BR": "Agradecer por isto"}
    kudos_options = {o["name"]: o for o in commands["kudos"]["options"]}
    assert kudos_options["reason"]["name_localizations"] == {"de": "grund", "pt-BR": "motivo"}

    own = only(await run(sb, "jonas", "kudos", "de", member="jonas"))
    assert own["ephemeral"] is True
    assert own["content"] == "Du kannst dir nicht selbst Kudos geben. Gibt es jemanden, der dir geholfen hat?"
    post = only(await run(sb, "jonas", "kudos", "de", member="alice", reason="Danke für die Hilfe"))
    assert post["content"] == f"🙌 <@{alice}>, <@{jonas}> says thank you!"  # the server speaks English
    assert post["embeds"][0]["footer"]["text"] == "1st kudos received"

    await sb.request("PATCH", "/discord/guild", {"preferred_locale": "pt-BR"})
    db = sb.sandbox.services.db  # type: ignore[attr-defined]

    async def portuguese() -> bool:
        return await db.fetchval("SELECT preferred_locale FROM guild_locales") == "pt-BR"  # type: ignore[no-any-return]

    await until(sb, portuguese)
    opened = await menu(sb, "jonas", "Give kudos", target_member="alice", locale="de")
    assert only(opened)["modal"]["title"] == "alice danken"
    post = only(await submit(sb, "jonas", opened, "Für das Review"))
    assert post["content"] == f"🙌 <@{alice}>, <@{jonas}> agradece!"
    assert post["embeds"][0]["footer"]["text"] == "2º agradecimento recebido"
    again = only(await run(sb, "jonas", "kudos", "de", member="jonas"))
    assert again["content"].startswith("Du kannst dir nicht selbst Kudos geben.")  # replies stay in jonas's language


async def test_the_digest_speaks_portuguese_with_its_plurals_and_dates(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"discord": {"locale": "pt-BR"}}) as sb:
        await started(sb)
        await sb.clock(now=MONDAY)
        await sb.user("alice")
        await sb.user("bob")
        await reviewed_and_merged(sb, "alice", "maintainer", 2)
        await reviewed_and_merged(sb, "bob", "maintainer", 4)
        await sb.post("/github/stars", {"repo": REPO, "user": "alice"})
        await sb.settle()
        await sb.clock(now=SLOT)
        await sb.run_job("digest.weekly")
        (post,) = await digest_posts(sb)
        content = post["content"]
        assert content.startswith("📜 **Esta semana na sacristia** · 4 de jan. – 11 de jan. de 2030")
        assert "🎉 Boas-vindas à nossa comunidade de contribuidores, **alice** e **bob**!" in content
        assert "Os primeiros pull requests de vocês foram mesclados." in content
        shown = {field["name"]: field["value"] for field in post["embeds"][0]["fields"]}
        assert shown["🔀 Pull requests"].startswith("**2** mesclados (▲ 2 em relação à semana anterior)")
        assert shown["👀 Revisões"].startswith("**2** revisões de **2** PRs")
        assert shown["⭐ Estrelas"] == "**+1** nesta semana · **1** no total"
        assert (
            "Tempo mediano até a primeira revisão: **3 h** (em 2 PRs revisados abertos nesta semana)"
            in (shown["🩺 Saúde das revisões"])
        )
        assert post["embeds"][0]["title"] == "Resumo · 4 de jan. – 11 de jan. de 2030"
        assert post["embeds"][0]["footer"]["text"] == (
            "Com base na atividade no GitHub de 4 de jan., 16:00 a 11 de jan., 16:00 (UTC)"
        )


async def test_recognize_suggests_contribution_kinds_in_the_members_language(sandbox: ControlClient) -> None:
    async def suggested(value: str, locale: str) -> list[dict[str, str]]:
        body = {"member": "owner", "command": "recognize", "option": "kind", "value": value, "locale": locale}
        return (await sandbox.post("/discord/autocomplete", body))["choices"]  # type: ignore[no-any-return]

    assert await suggested("dokument", "de") == [{"name": "Dokumentation (doc)", "value": "doc"}]
    assert await suggested("doc", "pt-BR") == [{"name": "Documentação (doc)", "value": "doc"}]
    assert await suggested("doc", "en-US") == [{"name": "Documentation (doc)", "value": "doc"}]
