"""The OAuth device flow against the GitHub emulator: pending, approved, denied, slow_down, expired."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.clock import ManualClock
from bot.github.device_flow import DeviceFlow, DeviceFlowDenied, DeviceFlowExpired
from bot.sandbox.github_emulator import GitHubEmulator

CLIENT_ID = "Iv1.sandbox"


@pytest.fixture
async def flow(emulator: GitHubEmulator) -> AsyncIterator[DeviceFlow]:
    """A device-flow client pointed at the emulator."""
    client = DeviceFlow(emulator.url)
    yield client
    await client.close()


def _sleeper(clock: ManualClock, slept: list[float], then: object = None):  # type: ignore[no-untyped-def]
    """A sleep that moves the sandbox clock instead of waiting, and runs ``then`` on the given call."""

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)
        if callable(then):
            await then(len(slept))

    return sleep


async def test_pending_then_approved_then_user_is_read(
    flow: DeviceFlow, emulator: GitHubEmulator, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await flow.request_code(CLIENT_ID)
    assert code.interval == 5 and code.verification_uri.startswith(emulator.url) and code.user_code in repr(code)
    assert code.device_code not in repr(code)

    pending = await flow.poll_token(CLIENT_ID, code.device_code)
    assert pending.status == "pending" and pending.access_token is None

    await emulator.device_approve(code.user_code, "alice")
    clock.advance(code.interval)
    result = await flow.poll_token(CLIENT_ID, code.device_code)
    assert result.status == "ok" and result.access_token
    assert result.access_token not in repr(result)

    user = await flow.fetch_user(emulator.url, result.access_token)
    assert (user.id, user.login, user.is_bot) == (emulator.user_id("alice"), "alice", False)
    assert result.access_token not in caplog.text


async def test_wait_for_token_returns_once_approved(
    flow: DeviceFlow, emulator: GitHubEmulator, clock: ManualClock
) -> None:
    code = await flow.request_code(CLIENT_ID)
    slept: list[float] = []

    async def approve_on_third(calls: int) -> None:
        if calls == 3:
            await emulator.device_approve(code.user_code, "bob")

    token = await flow.wait_for_token(CLIENT_ID, code, sleep=_sleeper(clock, slept, approve_on_third))

    assert slept == [5, 5, 5]
    assert (await flow.fetch_user(emulator.url, token)).login == "bob"


async def test_denied_authorization_raises(flow: DeviceFlow, emulator: GitHubEmulator, clock: ManualClock) -> None:
    code = await flow.request_code(CLIENT_ID)
    await emulator.device_deny(code.user_code)

    with pytest.raises(DeviceFlowDenied):
        await flow.wait_for_token(CLIENT_ID, code, sleep=_sleeper(clock, []))


async def test_slow_down_interval_is_respected(flow: DeviceFlow, emulator: GitHubEmulator, clock: ManualClock) -> None:
    code = await flow.request_code(CLIENT_ID)
    await flow.poll_token(CLIENT_ID, code.device_code)
    too_soon = await flow.poll_token(CLIENT_ID, code.device_code)
    assert too_soon.status == "slow_down" and too_soon.interval == 10
    slept: list[float] = []

    async def approve_on_third(calls: int) -> None:
        if calls == 3:
            await emulator.device_approve(code.user_code, "carol")

    await flow.wait_for_token(CLIENT_ID, code, sleep=_sleeper(clock, slept, approve_on_third))

    # The first wait is the code's 5 s (GitHub's default), too short now: slow_down answers 15 s, and that is kept.
    assert slept == [5, 15, 15]


async def test_expired_code_raises(flow: DeviceFlow, clock: ManualClock) -> None:
    code = await flow.request_code(CLIENT_ID)
    clock.advance(code.expires_in + 1)

    assert (await flow.poll_token(CLIENT_ID, code.device_code)).status == "expired"
    with pytest.raises(DeviceFlowExpired):
        await flow.wait_for_token(CLIENT_ID, code, sleep=_sleeper(clock, []))


async def test_slow_down_without_interval_adds_five_seconds() -> None:
    answers = iter([{"error": "slow_down"}, {"error": "authorization_pending"}, {"access_token": "gho_x"}])

    async def token(request: web.Request) -> web.Response:
        return web.json_response(next(answers), status=400)  # errors may come with any status

    app = web.Application()
    app.router.add_post("/login/oauth/access_token", token)
    server = TestServer(app)
    await server.start_server()
    flow = DeviceFlow(str(server.make_url("")))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    try:
        from bot.github.device_flow import DeviceCode

        code = DeviceCode("dc", "ABCD-EFGH", "https://example.invalid/device", 900, 5)
        assert await flow.wait_for_token(CLIENT_ID, code, sleep=sleep) == "gho_x"
    finally:
        await flow.close()
        await server.close()
    assert slept == [5, 10, 10]
