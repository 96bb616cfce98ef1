"""Security: webhook signatures, secrets that never leak, templates that cannot reach attributes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.config import Secrets, parse_settings
from bot.context import RunOptions
from bot.db import Database
from bot.features import build_services
from bot.github import webhooks
from bot.github.webhooks import WebhookReceiver, signature_ok
from bot.ledger import Ledger
from tests.reliability import checks
from tests.reliability.harness import WEBHOOK_SECRET

SECRET = "s3cret-for-signatures"
CODE = re.compile(r"`([A-Z]{4}-[A-Z]{4})`")


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    body = b'{"zen": "x"}'
    assert signature_ok(SECRET.encode(), body, sign(body))
    assert not signature_ok(SECRET.encode(), body, sign(body, "other"))
    assert len(compared) == 2, "every check goes through hmac.compare_digest"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=abc",
        "sha256=" + "0" * 64,
        "SHA256=deadbeef",
        "sha256=zz",
        "wrong-secret",
        "other-body",
    ],
)
async def test_a_delivery_without_a_valid_signature_is_refused_and_stores_nothing(
    db: Database, clock: ManualClock, header: str | None
) -> None:
    hooks = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"])
    body = json.dumps({"action": "created", "repository": {"full_name": "o/r"}, "sender": {"id": 1, "login": "x"}})
    if header == "wrong-secret":
        header = sign(body.encode(), "not-it")
    elif header == "other-body":
        header = sign(body.encode() + b"\n")
    headers = {"X-GitHub-Event": "star", "X-GitHub-Delivery": "d1", "Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    async with TestClient(TestServer(hooks.app())) as client:
        response = await client.post(hooks.path, data=body, headers=headers)
        assert response.status == 401
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_deliveries") == 0


async def test_webhooks_on_without_a_secret_warn_at_start_up(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = parse_settings(
        {"discord": {"guild_id": 1}, "github": {"repositories": ["o/r"]}, "webhooks": {"enabled": True}}, "test"
    )
    secrets = Secrets(None, None, None, None, None)
    with caplog.at_level(logging.WARNING):
        build_services(settings, secrets, db, clock, RunOptions())
    assert any("without GITHUB_WEBHOOK_SECRET" in r.getMessage() for r in caplog.records), caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build_services(settings, Secrets(None, None, None, None, _secret("x" * 20)), db, clock, RunOptions())
    assert not any("GITHUB_WEBHOOK_SECRET" in r.getMessage() for r in caplog.records)


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


class Capture(logging.Handler):
    """Keep every log line, tracebacks included, exactly as a handler would write it (no redaction)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def device_link(sb: Any, member: str, login: str) -> None:
    """Link through GitHub's device flow: the bot holds an access token for a moment."""
    result = await sb.command(member, "link")
    code = CODE.search(result["responses"][0]["content"])
    assert code, result
    await sb.post("/github/device/approve", {"user_code": code.group(1), "login": login})
    interactions = sb.sandbox.discord.interactions
    record = interactions.records[int(result["interaction"])]
    for _ in range(200):
        if not CODE.search(interactions.responses(record)[0]["content"] or ""):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the device flow never finished")


async def test_secrets_and_device_flow_tokens_reach_no_log_database_or_message(sandbox: Any, tmp_path: Path) -> None:
    sb = sandbox
    capture = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        for name in ("ann", "ben"):
            await sb.add_member(name)
            await sb.user(name)
            await device_link(sb, name, name)
        await sb.merge(await sb.pull("ann", "A change"))
        sb.sandbox.github.add_fault("GET", "/users/{login}", 500, 10, 1)
        await sb.command("owner", "vestry link", member="ben", github="ann")  # GitHub fails: an error path
        sb.sandbox.github.clear_faults()
        await sb.command("owner", "vestry status")
        await sb.run_job("github.poll")
        await sb.settle()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    github, discord = sb.sandbox.github, sb.sandbox.discord
    device_tokens = [t for t in github.world.tokens if t != github.token]
    device_codes = list(github.device.codes)
    assert device_tokens and device_codes, "the device flow ran"
    secrets = {
        "DISCORD_TOKEN": discord.token,
        "GITHUB_TOKEN": github.token,
        "GITHUB_WEBHOOK_SECRET": sb.sandbox.ready_info["webhook_secret"],
        **{f"device token {n}": t for n, t in enumerate(device_tokens)},
        **{f"device code {n}": c for n, c in enumerate(device_codes)},
    }
    await sb.sandbox.services.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    files = {p.name: p.read_bytes() for p in sb.sandbox.workdir.rglob("vestry.sqlite3*") if p.is_file()}
    files |= {p.name: p.read_bytes() for p in sb.sandbox.workdir.glob("vestry.sqlite3-webhooks/*")}  # the spool
    messages = "\n".join(m.content + json.dumps(m.embeds) for m in discord.world.messages.values())
    logs = "\n".join(capture.lines)
    assert len(capture.lines) > 100, "the run was logged at DEBUG"
    leaks = [
        f"{what} in {where}"
        for what, value in secrets.items()
        for where, text in (("the logs", logs.encode()), ("Discord messages", messages.encode()), *files.items())
        if value.encode() in text
    ]
    assert not leaks, leaks
    checks.record(
        "secrets and device-flow tokens in logs (DEBUG, unredacted), database files and messages",
        len(secrets),
        f"none of {len(secrets)} secret values found in {len(capture.lines)} log lines, {len(files)} database "
        f"files or {len(discord.world.messages)} messages",
    )


def test_the_crash_harness_secret_is_a_test_value() -> None:
    assert WEBHOOK_SECRET.startswith("crash-harness")


HOSTILE_TEMPLATES = [
    "{member.__class__}",
    "{member[0]}",
    "{member:{tier.__class__}}",
    "{member:{tier.__class__.__name__}}",
    "{member:>{tier}}",
    "{0}",
    "{}",
    "{member!r:{tier}}",
]
TEMPLATE_SETTINGS = {
    ("ladder", "promotion_message"): "member",
    ("kudos", "first_pr_message"): "author",
    ("kudos", "milestone_message"): "author",
}


def test_templates_that_could_reach_attributes_are_refused_with_their_key() -> None:
    from bot.config import ConfigError

    base: dict[str, Any] = {"discord": {"guild_id": 1}, "github": {"repositories": ["a/b"]}}
    accepted = []
    for (section, key), name in sorted(TEMPLATE_SETTINGS.items()):
        for hostile in HOSTILE_TEMPLATES:
            template = hostile.replace("member", name)
            try:
                parse_settings({**base, section: {key: template}}, "test")
            except ConfigError as exc:
                assert f"{section}.{key}" in str(exc), str(exc)
            else:
                accepted.append(f"{section}.{key} = {template!r}")
    assert not accepted, accepted
    checks.record(
        "message templates with attribute, index or nested placeholders",
        len(TEMPLATE_SETTINGS) * len(HOSTILE_TEMPLATES),
        "every one refused when the settings load, naming the key",
    )
