"""The hall of fame end to end: the real bot in the sandbox serves the page from what happened on GitHub and Discord,
and a member's privacy choices take effect at once."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_ladder import linked_member, merged


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def get_text(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_the_ready_object_names_the_web_server_and_it_serves_health_and_the_page(sandbox: Any) -> None:
    web = sandbox.sandbox.ready_info["web"]
    assert web and web.startswith("http://127.0.0.1:")
    status, text = await get_text(web + "/healthz")
    assert status == 200 and '"database": true' in text
    status, text = await get_text(web + "/")
    assert status == 200 and "Sandbox project hall of fame" in text


async def test_contributors_appear_with_tier_and_counts_and_bots_never_do(sandbox: Any) -> None:
    web = sandbox.sandbox.ready_info["web"]
    await linked_member(sandbox, "alice")
    await merged(sandbox, "alice")
    await sandbox.user("dependabot[bot]", type="Bot")
    await merged(sandbox, "dependabot[bot]")
    await sandbox.user("carol")
    await merged(sandbox, "carol")
    body = await get_json(web + "/api/contributors?sort=name")
    people = {p["login"]: p for p in body["contributors"]}
    assert set(people) == {"alice", "carol", "maintainer"}, "the merger counts for merges; the bot never shows"
    assert people["alice"]["tier"] == "Priest in training" and people["carol"]["tier"] is None
    assert people["alice"]["counts"]["merged_pull_requests"] == 1
    assert people["maintainer"]["counts"]["merges_of_others"] == 3
    status, text = await get_text(web + "/")
    assert status == 200 and "dependabot" not in text and "Priest in training" in text
    status, text = await get_text(web + "/metrics")
    assert "vestry_hall_of_fame_contributors 3.0" in text, text


async def test_profile_public_shows_the_discord_name_and_forget_and_unlink_remove_it_at_once(sandbox: Any) -> None:
    web = sandbox.sandbox.ready_info["web"]
    await linked_member(sandbox, "alice")
    await merged(sandbox, "alice")
    assert (await get_json(web + "/api/contributors/alice"))["contributor"]["name"] is None, "off by default"
    result = await sandbox.command("alice", "profile", public=True)
    assert "now show on the public hall of fame" in result["responses"][0]["content"], result
    shown = (await get_json(web + "/api/contributors/alice"))["contributor"]
    assert shown["name"] == "alice" and shown["tier"] == "Priest in training"
    result = await sandbox.command("alice", "forget")
    assert "no longer shows your Discord name" in result["responses"][0]["content"], result
    gone = (await get_json(web + "/api/contributors/alice"))["contributor"]
    assert gone["name"] is None and gone["tier"] is None and gone["counts"]["merged_pull_requests"] == 1
    await sandbox.command("alice", "profile", public=True)
    assert (await get_json(web + "/api/contributors/alice"))["contributor"]["name"] == "alice"
    await sandbox.command("alice", "unlink")
    unlinked = (await get_json(web + "/api/contributors/alice"))["contributor"]
    assert unlinked["name"] is None and unlinked["tier"] is None


async def test_only_the_member_themselves_can_choose_what_the_page_shows(sandbox: Any) -> None:
    await linked_member(sandbox, "alice")
    await sandbox.add_member("bob")
    result = await sandbox.command("bob", "profile", member="alice", public=True)
    assert "Only you can choose" in result["responses"][0]["content"], result


async def test_health_metrics_and_the_page_are_served_with_webhooks_off(sandbox_factory: Any) -> None:
    async with sandbox_factory(poll=True) as sb:
        info = sb.sandbox.ready_info
        assert info["webhook"] is None and info["web"]
        status, text = await get_text(info["web"] + "/healthz")
        assert status == 200 and '"gateway": true' in text, text
        status, text = await get_text(info["web"] + "/metrics")
        assert status == 200 and "vestry_outbox_depth" in text
        assert (await get_text(info["web"] + "/"))[0] == 200
        status, _ = await get_text(info["web"] + "/github/webhook")
        assert status in (404, 405), "no webhook route when webhooks are off"
