"""Linked logins follow GitHub renames by account id, everywhere a link is shown.

Fails on the code before migration 0012's rename triggers: /whois kept the login captured at link time, so after a
rename `/whois github:<old>` still named the member, even once someone else had taken the old login.
The first two tests feed the ledger the facts GitHub shows a bot after a rename (a pull request carrying the
account's id with its new login); the last renames the account in the GitHub emulator and lets its webhooks tell.
"""

from __future__ import annotations

from typing import Any

from bot.ledger import Actor, PullFact
from tests.reliability import checks


async def seen(sb: Any, actor: Actor, number: int) -> None:
    """Let the ledger see ``actor`` as the author of a pull request, as a webhook or poll would show it."""
    services = sb.sandbox.services
    now = services.clock.now()
    fact = PullFact("sandbox/project", number, "A change", "u", actor, "open", created_at=now, updated_at=now)
    await services.ledger.apply([fact], "webhook")
    sb.sandbox.clock.advance(5)


async def whois(sb: Any, **options: str) -> str:
    """The bot's answer to /whois."""
    return str((await sb.command("owner", "whois", **options))["responses"][0]["content"])


async def test_whois_follows_a_rename_and_never_names_the_member_under_the_old_login(sandbox: Any) -> None:
    sb = sandbox
    alice = await sb.add_member("alice")
    github_id = await sb.user("alice-old")
    await sb.command("owner", "vestry link", member="alice", github="alice-old")
    assert f"<@{alice}>" in await whois(sb, github="alice-old")
    await seen(sb, Actor(github_id, "alice-new"), 901)  # renamed on GitHub: same id, new login
    assert "isn't linked" in await whois(sb, github="alice-old")
    assert f"<@{alice}>" in await whois(sb, github="alice-new")
    assert "@alice-new" in await whois(sb, member="alice")
    await seen(sb, Actor(github_id + 1000, "alice-old"), 902)  # someone else takes the old login
    assert "isn't linked" in await whois(sb, github="alice-old")
    checks.record("renames followed by id", cases=4, held="/whois shows the new login; old login names nobody")


async def test_an_old_login_taken_by_another_account_names_nobody_even_before_the_rename_is_seen(
    sandbox: Any,
) -> None:
    sb = sandbox
    await sb.add_member("bob")
    github_id = await sb.user("bob-old")
    await sb.command("owner", "vestry link", member="bob", github="bob-old")
    sb.sandbox.clock.advance(5)
    await seen(sb, Actor(github_id + 1000, "bob-old"), 903)  # the login now belongs to another account
    assert "isn't linked" in await whois(sb, github="bob-old")
    checks.record("old login reused before the rename is seen", cases=1, held="names nobody")


async def test_a_rename_on_github_reaches_the_bot_through_its_own_webhooks_and_whois_follows(sandbox: Any) -> None:
    """End to end: the emulator renames the account (`POST /github/users/{login}/rename`), the renamed person opens
    a pull request, the webhook carries the new login with the same id, and every answer follows it."""
    sb = sandbox
    carol = await sb.add_member("carol")
    github_id = await sb.user("carol-old")
    await sb.command("owner", "vestry link", member="carol", github="carol-old")
    renamed = await sb.post("/github/users/carol-old/rename", {"login": "carol-new"})
    assert int(renamed["id"]) == github_id and renamed["login"] == "carol-new"
    await sb.pull("carol-new", "A change after the rename")
    await sb.settle()
    assert f"<@{carol}>" in await whois(sb, github="carol-new")
    assert "isn't linked" in await whois(sb, github="carol-old")
    assert "@carol-new" in await whois(sb, member="carol")
    checks.record("a rename seen through GitHub's own webhooks", cases=1, held="/whois follows the new login")
