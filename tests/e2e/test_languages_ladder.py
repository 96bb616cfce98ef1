"""The ladder and the maintainer's status in the reader's language: a German member's /rank and /leaderboard answers
are German, a Brazilian member's Portuguese, and a maintainer whose client speaks German reads a German status."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_ladder import TIERS, linked_member, merged
from tests.e2e.test_languages import run


async def test_a_german_member_reads_rank_and_leaderboard_in_german(sandbox_factory: Any) -> None:
    tiers = [TIERS[0], {**TIERS[1], "criteria": {"merged_prs": 3}}, TIERS[2]]
    async with sandbox_factory(overrides={"ladder": {"tiers": tiers}}) as sb:
        jonas = await linked_member(sb, "jonas")
        await merged(sb, "jonas")
        rank = (await run(sb, "jonas", "rank", "de"))["responses"][0]["embeds"][0]
        assert rank["title"] == "jonas auf der Leiter"
        assert rank["description"].splitlines() == [
            "**Stufe** Follower",
            "**Nächste Stufe** Priest in training",
            "**Es fehlt** 2 weitere gemergte PRs",
        ]
        assert rank["fields"][0]["value"].startswith("Gemergte PRs 1 · Reviews 0 · Merges 0")

        board = (await run(sb, "jonas", "leaderboard", "de", category="merged_prs", period="week"))["responses"][0]
        embed = board["embeds"][0]
        assert embed["title"] == "Bestenliste: gemergte PRs, die letzten 7 Tage"
        assert embed["description"] == f"**1.** <@{jonas}> – 1 gemergter PR"
        assert embed["fields"] == [
            {"name": "Deine Platzierung", "value": "Platz 1 mit 1 gemergter PR", "inline": False}
        ]
        assert embed["footer"]["text"] == "Seite 1 von 1"
        assert [b["label"] for b in board["components"][0]["components"]] == ["Zurück", "Weiter"]

        mine = (await run(sb, "jonas", "rank", "pt-BR"))["responses"][0]["embeds"][0]
        assert mine["title"] == "jonas na escada"
        assert "**Falta** mais 2 PRs mesclados" in mine["description"]

        english = (await sb.command("jonas", "rank"))["responses"][0]["embeds"][0]
        assert "**Missing** 2 more merged PRs" in english["description"]


async def test_a_maintainer_whose_client_speaks_german_reads_a_german_status(sandbox: Any) -> None:
    german = (await run(sandbox, "owner", "vestry status", "de"))["responses"][0]["embeds"][0]
    assert german["title"] == "Vestry-Status"
    assert german["description"].splitlines()[0].startswith("**Version** ")
    assert [field["name"] for field in german["fields"]] == ["Jobs", "Probleme"]
    english = (await sandbox.command("owner", "vestry status"))["responses"][0]["embeds"][0]
    assert english["title"] == "Vestry status"
    assert [field["name"] for field in english["fields"]] == ["Jobs", "Problems"]


async def test_a_german_server_tells_promotions_and_asks_for_approval_in_german(sandbox_factory: Any) -> None:
    tiers = [TIERS[0], {**TIERS[1], "approval": True}]
    overrides = {"discord": {"locale": "de"}, "ladder": {"tiers": tiers, "dm_member": True}}
    async with sandbox_factory(overrides=overrides) as sb:
        jonas = await linked_member(sb, "jonas")
        dms = [m["content"] for m in await sb.messages("dm:jonas")]
        assert (
            "Glückwunsch, du bist jetzt **Follower**! Als Nächstes: **Priest in training** (1 gemergter PR). "
            "Schau mit /rank nach."
        ) in dms
        await merged(sb, "jonas")
        (request,) = [m for m in await sb.messages("maintainers") if "Priest in training" in m["content"]]
        assert request["content"] == (
            f"<@{jonas}> (GitHub **jonas**) erfüllt die Voraussetzungen für **Priest in training** "
            "(1 gemergter PR). Beförderung bestätigen?"
        )
        assert [b["label"] for b in request["components"][0]["components"]] == ["Bestätigen", "Ablehnen"]


async def test_a_recognition_on_a_portuguese_server_is_posted_in_portuguese(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"discord": {"locale": "pt-BR"}}) as sb:
        alice = await sb.add_member("alice")
        owner = next(m["id"] for m in (await sb.state())["members"] if m["name"] == "owner")
        answer = await run(
            sb, "owner", "recognize", "de", member="alice", kind="doc", link="https://github.com/x/y/wiki"
        )
        assert answer["responses"][0]["content"].startswith("Danke, dass du alice würdigst")
        await sb.settle()
        (post,) = await sb.messages("kudos")
        assert post["content"] == f"🌟 <@{alice}>, obrigado pelo seu trabalho: **Documentação**!"
        embed = post["embeds"][0]
        assert embed["title"] == "Documentação" and embed["description"] == f"Reconhecimento de <@{owner}>."
        assert embed["footer"]["text"] == "1º reconhecimento deste tipo"


async def test_a_german_member_reads_a_german_profile_and_an_english_one_stays_english(sandbox_factory: Any) -> None:
    tiers = [TIERS[0], {**TIERS[1], "criteria": {"merged_prs": 3}}, TIERS[2]]
    async with sandbox_factory(overrides={"ladder": {"tiers": tiers}}) as sb:
        jonas = await linked_member(sb, "jonas")
        await merged(sb, "jonas")
        german = (await run(sb, "jonas", "profile", "de"))["responses"][0]["embeds"][0]
        assert german["title"] == "Profil von jonas"
        lines = german["description"].splitlines()
        assert lines[0] == f"**Mitglied** <@{jonas}>"
        assert "**Gemergte Pull Requests** 1" in lines
        fields = {field["name"]: field["value"] for field in german["fields"]}
        assert "gemergt am <t:" in fields["Erster Pull Request"]
        assert fields["Leiter"] == "**Follower**; als Nächstes: **Priest in training** (2 weitere gemergte PRs)"
        english = (await sb.command("jonas", "profile"))["responses"][0]["embeds"][0]
        assert english["title"] == "jonas's profile"
        assert {field["name"] for field in english["fields"]} >= {"First pull request", "Ladder"}
        assert "**Merged pull requests** 1" in english["description"].splitlines()
