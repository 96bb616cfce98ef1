"""Linking end to end: the real bot, GitHub's device flow and gists in the emulator, Discord in the emulator."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import domain
from bot.timeutil import iso, parse_iso

CODE = re.compile(r"`([A-Z]{4}-[A-Z]{4})`")
PHRASE = re.compile(r"vestry-link-[0-9a-f]{16}")
NO_OAUTH = {"github": {"oauth_client_id": None}}


def response(result: dict[str, Any]) -> dict[str, Any]:
    (only,) = result["responses"]
    assert only["ephemeral"] is True
    return only


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c.get("custom_id") or c.get("url") for row in message["components"] for c in row["components"]]


def current(sb: Any, interaction: str) -> dict[str, Any]:
    """The interaction's original response as the member sees it now (ephemeral: not in channel history)."""
    interactions = sb.sandbox.discord.interactions
    return interactions.responses(interactions.records[int(interaction)])[0]  # type: ignore[no-any-return]


async def wait_for_text(sb: Any, interaction: str, words: str, timeout: float = 15) -> dict[str, Any]:
    """Wait until the bot has edited its /link message to say ``words``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while words not in (message := current(sb, interaction))["content"]:
        if loop.time() > deadline:
            raise AssertionError(f"the /link message never said {words!r}; it says {message['content']!r}")
        await asyncio.sleep(0.1)
    return message


async def start_device_link(sb: Any, member: str) -> tuple[str, str]:
    """Run /link as ``member``; return the interaction id and the one-time code shown."""
    result = await sb.command(member, "link")
    message = response(result)
    match = CODE.search(message["content"])
    assert match, message["content"]
    return result["interaction"], match.group(1)


async def device_link(sb: Any, member: str, login: str) -> str:
    """Link ``member`` to ``login`` through the device flow; return the final message text."""
    interaction, code = await start_device_link(sb, member)
    await sb.post("/github/device/approve", {"user_code": code, "login": login})
    return str((await wait_until_done(sb, interaction))["content"])


async def wait_until_done(sb: Any, interaction: str, timeout: float = 15) -> dict[str, Any]:
    """Wait until the code message was replaced by the outcome."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while CODE.search((message := current(sb, interaction))["content"]):
        if loop.time() > deadline:
            raise AssertionError("the device flow never finished")
        await asyncio.sleep(0.1)
    return message


async def link_rows(sb: Any) -> list[tuple[int, int, str]]:
    rows = await sb.sandbox.services.db.fetchall("SELECT discord_id, github_id, login FROM links ORDER BY linked_at")
    return [(r["discord_id"], r["github_id"], r["login"]) for r in rows]


async def command(sb: Any, who: str, name: str, **options: Any) -> dict[str, Any]:
    """Run a command whose options may include ``member`` (which ControlClient.command cannot pass)."""
    return await sb.post("/discord/commands", {"member": who, "command": name, "options": options})  # type: ignore[no-any-return]


# the device flow -------------------------------------------------------------------------------------------
async def test_device_flow_approved_links_the_member_and_edits_the_code_message(sandbox: Any) -> None:
    alice = await sandbox.add_member("alice")
    github_id = await sandbox.user("dev42")
    interaction, code = await start_device_link(sandbox, "alice")
    shown = current(sandbox, interaction)
    assert "/login/device" in shown["content"] and any("/login/device" in i for i in custom_ids(shown))
    await sandbox.post("/github/device/approve", {"user_code": code, "login": "dev42"})
    await wait_for_text(sandbox, interaction, "Linked to @dev42")
    assert await link_rows(sandbox) == [(int(alice), github_id, "dev42")]
    whois = response(await sandbox.command("owner", "whois", github="DEV42"))
    assert f"<@{alice}> is linked to @dev42" in whois["content"]
    by_member = response(await command(sandbox, "owner", "whois", member="alice"))
    assert f"<@{alice}> is linked to @dev42" in by_member["content"]


async def test_device_flow_denied_says_so_and_try_again_starts_a_new_code(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    interaction, code = await start_device_link(sandbox, "alice")
    await sandbox.post("/github/device/approve", {"user_code": code, "deny": True})
    message = await wait_for_text(sandbox, interaction, "cancelled on GitHub")
    assert custom_ids(message) == ["link:retry"]
    again = response(await sandbox.click("alice", message["id"], "link:retry"))
    new_code = CODE.search(again["content"])
    assert new_code and new_code.group(1) != code
    assert await link_rows(sandbox) == []


async def test_device_flow_expired_says_so_with_a_try_again_button(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    interaction, _ = await start_device_link(sandbox, "alice")
    await sandbox.clock(advance=842)  # past the 14 minutes the bot waits, well within the token's 15
    message = await wait_for_text(sandbox, interaction, "expired")
    assert custom_ids(message) == ["link:retry"]
    assert await link_rows(sandbox) == []


async def test_device_flow_that_outlives_its_token_says_so_in_a_dm_and_never_edits_late(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    interaction, _ = await start_device_link(sandbox, "alice")
    await sandbox.clock(advance=1000)  # the interaction token (15 minutes) is gone before the code's end is seen
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not (dms := await sandbox.messages("dm:alice")):
        assert loop.time() < deadline, "the bot never told alice how /link ended"
        await asyncio.sleep(0.1)
    assert "expired" in dms[0]["content"]
    assert custom_ids(dms[0]) == ["link:retry"]
    assert CODE.search(current(sandbox, interaction)["content"])  # the old message was left alone, not edited late
    assert await sandbox.get("/discord/rejections") == []


async def test_device_flow_slowed_down_backs_off_and_still_links(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    await sandbox.user("dev42")
    interaction, code = await start_device_link(sandbox, "alice")
    pending = sandbox.sandbox.github.device.lookup(code)
    while pending.last_poll is None:  # the bot's first poll, after `interval` (1 s)
        await asyncio.sleep(0.05)
    # Moving the clock back makes the next poll look too early: GitHub answers slow_down (interval 1 → 6).
    now = parse_iso(await sandbox.clock(advance=0))
    assert now is not None
    await sandbox.clock(now=iso(now - timedelta(seconds=30)))
    await sandbox.post("/github/device/approve", {"user_code": code, "login": "dev42"})
    await wait_for_text(sandbox, interaction, "Linked to @dev42")
    assert pending.interval == 6
    # Had the bot kept polling every second, every poll would be slowed down again and it would never link.
    polls = (await sandbox.get("/requests"))["github"]["POST /login/oauth/access_token"]["requests"]
    assert polls == 3


async def test_access_token_never_reaches_the_database_file_or_the_logs(
    sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await sandbox.add_member("alice")
    assert "Linked to @dev42" in await device_link(sandbox, "alice", "dev42")
    await sandbox.settle()
    github = sandbox.sandbox.github
    issued = [token for token in github.world.tokens if token != github.token]
    assert len(issued) == 1 and issued[0].startswith("gho_")
    path = Path(sandbox.sandbox.services.settings.database.path)
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert path in files
    for file in files:
        assert issued[0].encode() not in file.read_bytes(), file
    bot_logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("bot.sandbox"))
    assert "linked to GitHub account" in bot_logs
    assert issued[0] not in bot_logs


# one account, one member -----------------------------------------------------------------------------------
async def test_second_member_linking_an_already_linked_account_is_refused(sandbox: Any) -> None:
    alice = await sandbox.add_member("alice")
    await sandbox.add_member("bob")
    assert "Linked to @dev42" in await device_link(sandbox, "alice", "dev42")
    text = await device_link(sandbox, "bob", "dev42")
    assert "already linked to another member" in text and "/vestry link" in text
    assert [row[0] for row in await link_rows(sandbox)] == [int(alice)]


async def test_unlink_removes_the_link_and_the_roles_it_earned(sandbox: Any) -> None:
    alice = await sandbox.add_member("alice")
    await device_link(sandbox, "alice", "dev42")
    await sandbox.settle()

    async def roles() -> list[str]:
        return next(m["roles"] for m in (await sandbox.state())["members"] if m["name"] == "alice")

    assert "Follower" in await roles()
    reply = response(await sandbox.command("alice", "unlink"))
    assert "Unlinked from @dev42" in reply["content"]
    await sandbox.settle()
    assert await link_rows(sandbox) == []
    kinds = await sandbox.sandbox.services.db.fetchall("SELECT kind, payload FROM events ORDER BY seq")
    last = (kinds[-1]["kind"], json.loads(kinds[-1]["payload"])["discord_id"])
    assert last == (domain.MemberUnlinked.KIND, int(alice))
    assert "Follower" not in await roles()
    again = response(await sandbox.command("alice", "unlink"))
    assert "nothing to unlink" in again["content"]


# the proof flow (no OAuth App) -----------------------------------------------------------------------------
async def test_gist_proof_not_found_then_found_links_the_member(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides=NO_OAUTH) as sb:
        assert sb.sandbox.services.settings.github.oauth_client_id is None
        await sb.add_member("alice")
        bare = response(await sb.command("alice", "link"))
        assert "/link github:" in bare["content"]
        bad = response(await sb.command("alice", "link", github="-not-a-login-"))
        assert "isn't a valid GitHub login" in bad["content"]
        await sb.user("dev42")
        unknown = response(await sb.command("alice", "link", github="nobody-at-all"))
        assert "no account named `nobody-at-all`" in unknown["content"]
        started = response(await sb.command("alice", "link", github="dev42"))
        phrase = PHRASE.search(started["content"])
        assert phrase, started["content"]
        missing = response(await sb.command("alice", "verify"))
        assert "couldn't find" in missing["content"] and "public gist" in missing["content"]
        await sb.post("/github/gists", {"owner": "dev42", "content": f"Vestry proof: {phrase.group(0)}"})
        done = response(await sb.command("alice", "verify"))
        assert "Linked to @dev42" in done["content"]
        assert [row[2] for row in await link_rows(sb)] == ["dev42"]


# maintainers -----------------------------------------------------------------------------------------------
async def test_maintainer_link_and_unlink_are_audited(sandbox: Any) -> None:
    bob = await sandbox.add_member("bob")
    await sandbox.user("dev42")
    linked = response(await command(sandbox, "owner", "vestry link", member="bob", github="dev42"))
    assert f"Linked <@{bob}> to @dev42" in linked["content"]
    response(await command(sandbox, "owner", "vestry unlink", member="bob"))
    audit = response(await sandbox.command("owner", "vestry audit"))["embeds"][0]["description"]
    lines = audit.splitlines()
    assert "**unlink**" in lines[0] and "**link**" in lines[1] and all("@dev42" in line for line in lines)
    refused = response(await sandbox.command("bob", "vestry audit"))
    assert "Only maintainers" in refused["content"]


# "This is me" on an announcement ---------------------------------------------------------------------------
async def test_this_is_me_button_links_the_member_and_the_announcement_then_mentions_them(sandbox: Any) -> None:
    alice = await sandbox.add_member("alice")
    github_id = await sandbox.user("dev42")
    await sandbox.merge(await sandbox.pull("dev42", "Fix the typo"))
    await sandbox.settle()
    claim = f"link:claim:{github_id}"
    post = next(m for m in await sandbox.messages("kudos") if claim in custom_ids(m))
    started = await sandbox.click("alice", post["id"], claim)
    code = CODE.search(response(started)["content"])
    assert code and "@dev42" in response(started)["content"]
    await sandbox.post("/github/device/approve", {"user_code": code.group(1), "login": "dev42"})
    await wait_for_text(sandbox, started["interaction"], "Linked to @dev42")
    await sandbox.settle()
    edited = next(m for m in await sandbox.messages("kudos") if m["id"] == post["id"])
    assert f"<@{alice}>" in json.dumps(edited) and claim not in custom_ids(edited)


async def test_this_is_me_for_a_different_account_is_refused(sandbox: Any) -> None:
    await sandbox.add_member("alice")
    github_id = await sandbox.user("dev42")
    await sandbox.user("someone-else")
    await sandbox.merge(await sandbox.pull("dev42"))
    await sandbox.settle()
    claim = f"link:claim:{github_id}"
    post = next(m for m in await sandbox.messages("kudos") if claim in custom_ids(m))
    started = await sandbox.click("alice", post["id"], claim)
    code = CODE.search(response(started)["content"])
    assert code
    await sandbox.post("/github/device/approve", {"user_code": code.group(1), "login": "someone-else"})
    message = await wait_for_text(sandbox, started["interaction"], "signed in to GitHub as @someone-else")
    assert custom_ids(message) == [claim]
    assert await link_rows(sandbox) == []
