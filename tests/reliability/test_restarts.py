"""Restarts tested from outside: `vestry sandbox --data DIR` killed (SIGKILL or SIGTERM) and started again.

Fails on the code before `--data`: every start was a new, empty sandbox (the option did not exist), a device-flow
sign-in cut off by a restart was never finished and the member never told, and a damaged database in the data
folder was not noticed at start.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.sandbox.client import ControlClient
from tests.reliability import checks
from tests.reliability.test_storage_corruption import damage


async def start(data: Path) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """Start `vestry sandbox --data DIR` and wait for its ready line."""
    ready = data.parent / "ready.json"
    ready.unlink(missing_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--data", str(data), "--ready-file", str(ready),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
    if not line.startswith("sandbox ready "):
        err = (await process.stderr.read()).decode() if process.stderr else ""
        raise AssertionError(f"no ready line: {line!r}\n{err[-2000:]}")
    return process, json.loads(line.removeprefix("sandbox ready "))


@asynccontextmanager
async def sandbox_process(data: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, ControlClient]]:
    """A sandbox process and a client for its control API; killed at the end if still running."""
    process, info = await start(data)
    try:
        async with ControlClient(info["control"]) as client:
            yield process, client
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def kill(process: asyncio.subprocess.Process, how: signal.Signals) -> int:
    """Send ``how`` and wait for the process to end; return its exit code."""
    process.send_signal(how)
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_a_killed_sandbox_continues_where_it_stopped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with sandbox_process(data) as (process, sb):
        await sb.add_member("alice")
        await sb.user("alice-gh")
        await sb.merge(await sb.pull("alice-gh", "First change"))
        await sb.settle()
        before = await sb.clock(advance=3600)
        assert len(await sb.messages("kudos")) == 1
        await kill(process, signal.SIGKILL)
    async with sandbox_process(data) as (process, sb):
        after = await sb.clock()
        assert datetime.fromisoformat(after) >= datetime.fromisoformat(before), (before, after)
        state = await sb.state()
        assert "alice" in [member["name"] for member in state["members"]]
        await sb.clock(advance=15 * 60)  # more than ten minutes of sandbox time after the kill
        await sb.merge(await sb.pull("alice-gh", "Second change"))
        await sb.user("bob-gh")
        await sb.merge(await sb.pull("bob-gh", "Bob's first change"))
        await sb.settle()
        posts = await sb.messages("kudos")
        await kill(process, signal.SIGTERM)
        assert process.returncode == 0
    firsts = [post for post in posts if "first pull request" in post["content"].lower()]
    assert len(firsts) == 2, [post["content"] for post in posts]
    assert sum("alice" in post["content"] for post in firsts) == 1, "alice's first PR was announced once"
    checks.record("sandbox --data restart (SIGKILL, then SIGTERM)", cases=2, held="worlds, clock, ledger continued")


async def test_a_sign_in_cut_off_by_a_restart_tells_the_member_to_link_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with sandbox_process(data) as (process, sb):
        await sb.add_member("carol")
        result = await sb.command("carol", "link")
        assert "github" in result["responses"][0]["content"].lower(), result
        await kill(process, signal.SIGKILL)
    pending = sqlite3.connect(data / "vestry.sqlite3")
    assert pending.execute("SELECT COUNT(*) FROM device_links_pending").fetchone()[0] == 1
    assert "device_code" not in [row[1] for row in pending.execute("PRAGMA table_info(device_links_pending)")]
    pending.close()
    async with sandbox_process(data) as (process, sb):
        await sb.settle()
        dms = await sb.messages("dm:carol")
        assert len(dms) == 1 and "/link" in dms[0]["content"], dms
        await kill(process, signal.SIGTERM)
    checks.record("device-flow sign-in cut off by a restart", cases=1, held="member told to run /link again")


async def test_a_damaged_database_in_the_data_folder_stops_the_start_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with sandbox_process(data) as (process, _):
        await kill(process, signal.SIGTERM)
    damage(data / "vestry.sqlite3")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--data", str(data),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    text = err.decode()
    assert process.returncode not in (0, None), (out, text)
    assert "damaged" in text and "vestry db backup" in text and "Traceback" not in text, text[-3000:]
    checks.record("damaged database at `vestry sandbox --data` start", cases=1, held="refused in one line")
