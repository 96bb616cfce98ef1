"""Both emulators list the requests they refused, and leave out the refusals a test asked for."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.sandbox.client import RefusedRequests, assert_no_rejections


async def test_discord_lists_a_refused_request_but_not_an_injected_fault(sandbox: Any) -> None:
    discord = sandbox.sandbox.discord
    channel = next(c["id"] for c in (await sandbox.state())["channels"] if c["name"] == "general")
    route = f"{discord.api_base}/channels/{channel}/messages"
    await sandbox.post("/discord/faults", {"method": "POST", "route": "/channels/{channel_id}/messages", "status": 503})
    async with aiohttp.ClientSession() as http:
        async with http.post(route, json={"content": "hi"}, headers={"Authorization": "Bot nope"}) as response:
            assert response.status == 503  # the injected fault comes first and is not the bot's doing
        async with http.post(route, json={"content": "hi"}, headers={"Authorization": "Bot nope"}) as response:
            assert response.status == 401
    refused = await sandbox.get("/discord/rejections")
    assert [(r["method"], r["route"], r["status"]) for r in refused] == [
        ("POST", "/channels/{channel_id}/messages", 401)
    ]
    with pytest.raises(RefusedRequests, match="401"):
        await assert_no_rejections(sandbox)
    discord.rest.rejections.clear()  # the sandbox fixture checks again on exit


async def test_github_lists_a_refused_request_but_not_an_injected_fault(sandbox: Any) -> None:
    github = sandbox.sandbox.github
    await sandbox.post("/github/faults", {"method": "GET", "route": "/rate_limit", "status": 502})
    async with aiohttp.ClientSession() as http:
        good = {"Authorization": f"token {github.token}"}
        async with http.get(f"{github.url}/rate_limit", headers=good) as response:
            assert response.status == 502  # injected: not the bot's doing
        async with http.get(f"{github.url}/rate_limit", headers={"Authorization": "token nope"}) as response:
            assert response.status == 401
    refused = await sandbox.get("/github/rejections")
    assert [(r["method"], r["route"], r["status"]) for r in refused] == [("GET", "/rate_limit", 401)]
    github.gate.rejections.clear()  # the sandbox fixture checks again on exit
