"""Invitations across restarts, from outside: `vestry sandbox --config FILE --data DIR`, killed and started again.

A restart between deciding an invitation and posting it never loses it; a restart between posting it and recording
that it was posted never posts it twice (the sender finds its own comment by its marker).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.sandbox.client import ControlClient, assert_no_rejections
from tests.reliability import checks
from tests.reliability.test_restarts import kill

REPO = "sandbox/project"
CONFIG = """
[discord]
guild_id = 1
[discord.channels]
kudos = 1
maintainers = 1
[github]
repositories = ["sandbox/project"]
[invitations]
enabled = true
discord_invite = "https://discord.gg/vestry-sandbox"
delay = "0s"
"""
ROUTE = "/repos/{owner}/{repo}/issues/{number}/comments"


@asynccontextmanager
async def sandbox_process(data: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, ControlClient]]:
    """A sandbox process with invitations on, keeping its state in ``data``; killed at the end if still running."""
    config = data.parent / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    ready = data.parent / "ready.json"
    ready.unlink(missing_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--config", str(config), "--data", str(data),
        "--rate-limits", "fast", "--ready-file", str(ready),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
    if not line.startswith("sandbox ready "):
        err = (await process.stderr.read()).decode() if process.stderr else ""
        raise AssertionError(f"no ready line: {line!r}\n{err[-2000:]}")
    info: dict[str, Any] = json.loads(line.removeprefix("sandbox ready "))
    try:
        async with ControlClient(info["control"]) as client:
            yield process, client
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def bot_comments(sb: ControlClient, number: int) -> list[dict[str, Any]]:
    return await sb.get("/github/comments", repo=REPO, number=number)  # type: ignore[no-any-return]


async def test_an_invitation_decided_before_a_kill_is_posted_once_after_the_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with sandbox_process(data) as (process, sb):
        await sb.clock(advance=2)
        await sb.post("/github/faults", {"method": "POST", "route": ROUTE, "status": 503, "times": 50})
        await sb.user("newbie")
        first = await sb.pull("newbie", "Fix a typo")
        await sb.settle()
        assert await bot_comments(sb, first) == []
        await kill(process, signal.SIGKILL)
    state = sqlite3.connect(data / "vestry.sqlite3")
    assert state.execute("SELECT state, attempts FROM invitations").fetchall() == [("pending", 1)]
    state.close()
    async with sandbox_process(data) as (process, sb):
        await sb.clock(advance=3600)
        await sb.settle()
        second = await sb.pull("newbie", "Another fix")
        await sb.settle()
        posted, again = await bot_comments(sb, first), await bot_comments(sb, second)
        await assert_no_rejections(sb)
        await kill(process, signal.SIGTERM)
    assert len(posted) == 1 and "discord.gg/vestry-sandbox" in posted[0]["body"], posted
    assert again == []
    checks.record("invitation decided, then SIGKILL before it was posted", cases=1, held="posted once after restart")


async def test_an_invitation_posted_but_not_recorded_before_a_crash_is_not_posted_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with sandbox_process(data) as (process, sb):
        await sb.clock(advance=2)
        await sb.user("newbie")
        number = await sb.pull("newbie", "Fix a typo")
        await sb.settle()
        (comment,) = await bot_comments(sb, number)
        await kill(process, signal.SIGTERM)
    # The crash window: the comment reached GitHub, the process died before the row said so.
    state = sqlite3.connect(data / "vestry.sqlite3")
    with state:
        state.execute("UPDATE invitations SET state = 'pending', sent_at = NULL, comment_id = NULL, comment_url = NULL")
    state.close()
    async with sandbox_process(data) as (process, sb):
        await sb.settle()
        after = await bot_comments(sb, number)
        requests = (await sb.get("/requests"))["github"]
        await assert_no_rejections(sb)
        await kill(process, signal.SIGTERM)
    assert [c["id"] for c in after] == [comment["id"]]
    assert "POST /repos/{owner}/{repo}/issues/{number}/comments" not in requests
    state = sqlite3.connect(data / "vestry.sqlite3")
    assert state.execute("SELECT state, comment_id FROM invitations").fetchall() == [("sent", comment["id"])]
    state.close()
    checks.record("invitation posted, then a crash before it was recorded", cases=1, held="found, not re-posted")
