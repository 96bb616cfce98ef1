"""`vestry sandbox` as a separate process: the ready line, the control API over HTTP, a clean SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from bot.sandbox.client import ControlClient


async def test_sandbox_process_prints_ready_serves_the_control_api_and_stops_cleanly(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--ready-file",
        str(ready_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        started = time.monotonic()
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        assert line.startswith("sandbox ready "), line
        info = json.loads(line.removeprefix("sandbox ready "))
        assert json.loads(ready_file.read_text()) == info
        assert set(info) == {"control", "discord", "github", "webhook", "webhook_secret", "web"}
        keys = ("control", "discord", "github", "webhook", "web")
        assert all(info[key].startswith("http://127.0.0.1:") for key in keys)
        assert time.monotonic() - started < 10
        async with ControlClient(info["control"]) as client:
            state = await client.state()
            assert state["guild"]["name"] == "Vestry Sandbox"
            assert "owner" in [member["name"] for member in state["members"]]
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=15)
    assert code == 0


async def test_sandbox_process_ends_with_exit_3_and_one_line_when_discord_resets_the_token(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--rate-limits",
        "fast",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=15)).decode()
        info = json.loads(line.removeprefix("sandbox ready "))
        async with ControlClient(info["control"]) as client:
            assert (await client.post("/discord/gateway/close", {"code": 4004}))["closed"] == 1
        code = await asyncio.wait_for(process.wait(), timeout=20)
        errors = (await process.stderr.read()).decode().splitlines()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 3
    (last,) = [e for e in errors if e.startswith("vestry: ")]
    assert "4004" in last and "DISCORD_TOKEN" in last
