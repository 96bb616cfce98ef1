"""The webhook endpoint under property-based fuzzing, in process over aiohttp's test client.

Random bodies, headers, encodings, sizes and signatures never cause a 5xx, and nothing is stored (no delivery,
no ledger row, no event) without a valid signature. Signed deliveries built from GitHub's real payloads with
random parts replaced are always processed to the end — a payload the bot cannot use is recorded with its error,
never left to be retried at every restart. ``FUZZ_SCALE`` multiplies the example counts (1 by default).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.db import Database
from bot.github.webhooks import WebhookReceiver
from bot.ledger import Ledger
from tests.conftest import FIXTURES
from tests.reliability import checks

SECRET = "fuzz-secret"
REPO = "Codertocat/Hello-World"
PAYLOADS = FIXTURES / "github-webhooks" / "payload-examples" / "api.github.com"
EVENTS = ["pull_request", "pull_request_review", "issues", "star", "member", "ping"]
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
COUNTS = {"raw": int(4000 * SCALE), "signed": int(4000 * SCALE), "open": int(2000 * SCALE)}
LEDGER_TABLES = ("webhook_deliveries", "events", "pull_requests", "reviews", "review_requests", "issues", "stars")
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def real_payloads() -> list[tuple[str, dict[str, Any]]]:
    """GitHub's example payloads for the events Vestry reads, pointed at the followed repository."""
    found = []
    for event in EVENTS:
        for path in sorted((PAYLOADS / event).glob("*.json")) if (PAYLOADS / event).is_dir() else []:
            payload = json.loads(path.read_text())
            if isinstance(payload.get("repository"), dict):
                payload["repository"]["full_name"] = REPO
            found.append((event, payload))
    return found


REAL = real_payloads()
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["2026-03-02T12:00:00Z", "0001-01-01T00:00:00-01:00", "9999-12-31T23:59:59+14:00", "nope"])
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=120)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replace(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return document


REAL_TEXT = [(event, json.dumps(payload), paths(payload)[1:]) for event, payload in REAL]


@st.composite
def mutated_payload(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A real payload with a few of its values (anywhere, nested objects included) replaced at random."""
    event, text, spots = REAL_TEXT[draw(st.integers(0, len(REAL_TEXT) - 1))]
    payload = json.loads(text)
    for _ in range(draw(st.integers(0, 4))):
        path = spots[draw(st.integers(0, len(spots) - 1))]
        try:
            payload = replace(payload, path, draw(json_value))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this spot
    return event, payload


@st.composite
def raw_request(draw: st.DrawFn) -> tuple[bytes, dict[str, str], str]:
    """Any body and headers; the signature is valid, wrong, malformed or missing. Returns the signature's kind."""
    kinds = ["json", "binary", "real"] if REAL else ["json", "binary"]  # "real" needs GitHub's examples
    kind = draw(st.sampled_from(kinds * 3 + ["large"]))
    if kind == "json":
        body = json.dumps(draw(json_value)).encode(draw(st.sampled_from(["utf-8", "utf-16", "utf-32"])))
    elif kind == "real":
        body = json.dumps(draw(mutated_payload())[1]).encode()
    elif kind == "large":
        body = b'{"a": "' + b"x" * draw(st.integers(100_000, 400_000)) + b'"}'
    else:
        body = draw(st.binary(max_size=2048))
    headers = {"X-GitHub-Event": draw(st.sampled_from(EVENTS) | header_text)}
    if draw(st.booleans()):
        headers["X-GitHub-Delivery"] = draw(st.uuids().map(str) | header_text)
    encoding = draw(st.sampled_from([None, None, "gzip", "deflate", "identity", "br", "bogus"]))
    if encoding is not None:
        headers["Content-Encoding"] = encoding
        if encoding == "gzip" and draw(st.booleans()):
            body = gzip.compress(body)
        elif encoding == "deflate" and draw(st.booleans()):
            body = zlib.compress(body)
    headers["Content-Type"] = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-16", "text/plain", "x/y"]) | header_text
    )
    signature = draw(st.sampled_from(["valid", "other-secret", "other-body", "garbage", "missing", "sha1", "upper"]))
    if signature == "valid":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature == "other-secret":
        headers["X-Hub-Signature-256"] = sign(body, "not-the-secret")
    elif signature == "other-body":
        headers["X-Hub-Signature-256"] = sign(body + b" ")
    elif signature == "garbage":
        headers["X-Hub-Signature-256"] = draw(header_text)
    elif signature == "sha1":
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    elif signature == "upper":
        headers["X-Hub-Signature-256"] = sign(body).upper()
    return body, headers, signature


async def counts(db: Database) -> tuple[int, ...]:
    """Row counts of the tables a delivery could reach, in one query."""
    row = await db.fetchone("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in LEDGER_TABLES))
    assert row is not None
    return tuple(row)


class Endpoint:
    """A receiver on a real database behind aiohttp's test server, on its own event loop (hypothesis drives
    examples synchronously, so each example runs to the end on this loop)."""

    def __init__(self, path: Path, secret: str | None) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = Database(path)
        clock = ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
        self.hooks = WebhookReceiver(self.db, Ledger(self.db, clock), clock, secret=secret, repositories=[REPO])
        self.client: TestClient = self.run(self._start())

    async def _start(self) -> TestClient:
        client = TestClient(TestServer(self.hooks.app()))
        await self.db.open()
        await self.db.migrate()
        await client.start_server()
        await self.hooks.start_processing()
        return client

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine to the end on the endpoint's loop."""
        return self.loop.run_until_complete(coroutine)

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Deliver, then wait until the delivery (if stored) is processed."""
        response = await self.client.post("/github/webhook", data=body, headers=headers)
        text = await response.text()
        while self.hooks.pending():  # drain(), polling faster than its 10 ms
            await asyncio.sleep(0.0005)
        return response.status, text

    def close(self) -> None:
        async def stop() -> None:
            await self.hooks.stop()
            await self.client.close()
            await self.db.close()

        self.run(stop())
        self.loop.close()


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    """A receiver with a secret."""
    found = Endpoint(tmp_path / "fuzz.sqlite3", SECRET)
    yield found
    found.close()


def test_random_requests_never_5xx_and_store_nothing_without_a_valid_signature(endpoint: Endpoint) -> None:
    seen: dict[int, int] = {}

    @settings(FUZZ, max_examples=COUNTS["raw"])
    @given(request=raw_request())
    def property(request: tuple[bytes, dict[str, str], str]) -> None:
        body, headers, signature = request
        before = endpoint.run(counts(endpoint.db))
        status, text = endpoint.run(endpoint.post(body, headers))
        seen[status] = seen.get(status, 0) + 1
        assert status < 500, (status, text)
        if signature != "valid":
            assert status in (400, 401, 413), status
            assert endpoint.run(counts(endpoint.db)) == before, "an unsigned delivery changed the database"

    property()
    assert seen.get(401, 0) > COUNTS["raw"] // 4, seen
    if REAL:  # a validly signed real payload is accepted (without GitHub's examples, few random bodies are)
        assert seen.get(202, 0) > 0, seen
    checks.record(
        "webhook fuzz: random bodies, headers, encodings, sizes, signatures",
        COUNTS["raw"],
        f"no 5xx; nothing stored without a valid signature (statuses {dict(sorted(seen.items()))})",
    )


@pytest.mark.skipif(not REAL, reason=f"GitHub's example webhook payloads were not found at {PAYLOADS}")
def test_signed_mutated_real_payloads_are_always_processed_to_the_end(endpoint: Endpoint) -> None:
    seen: dict[str, int] = {"accepted": 0, "unusable": 0}
    recorded: set[str] = set()

    @settings(FUZZ, max_examples=COUNTS["signed"])
    @given(delivery=mutated_payload(), number=st.uuids())
    def property(delivery: tuple[str, dict[str, Any]], number: Any) -> None:
        event, payload = delivery
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(number),
            "X-Hub-Signature-256": sign(body),
            "Content-Type": "application/json",
        }
        status, text = endpoint.run(endpoint.post(body, headers))
        assert status < 500, (status, text)
        row = endpoint.run(
            endpoint.db.fetchone(
                "SELECT processed_at, error FROM webhook_deliveries WHERE delivery_id = ?", (str(number),)
            )
        )
        if text == "accepted":
            assert row is not None, "an acknowledged delivery was not recorded"
            recorded.add(str(number))
        elif status >= 400 or text.startswith("ignored"):  # hypothesis may reuse an id it accepted before
            assert row is None or str(number) in recorded, (status, text, "a refused delivery was recorded")
        if row is not None:
            seen["accepted"] += 1
            seen["unusable"] += row["error"] is not None
            assert row["processed_at"] is not None, "a stored delivery was left unprocessed (retried forever)"
        assert endpoint.hooks.spool.pending() == 0, "a spooled delivery was left unrecorded"

    property()
    assert seen["accepted"] > COUNTS["signed"] // 4, seen
    assert endpoint.run(endpoint.db.fetchval("PRAGMA integrity_check")) == "ok"
    checks.record(
        "webhook fuzz: signed deliveries of mutated real GitHub payloads",
        COUNTS["signed"],
        f"no 5xx; every stored delivery processed ({seen['accepted']} stored, {seen['unusable']} recorded "
        "as unusable with their error)",
    )


def test_without_a_secret_random_requests_still_never_5xx(tmp_path: Path) -> None:
    endpoint = Endpoint(tmp_path / "open.sqlite3", None)
    try:

        @settings(FUZZ, max_examples=COUNTS["open"])
        @given(request=raw_request())
        def property(request: tuple[bytes, dict[str, str], str]) -> None:
            status, text = endpoint.run(endpoint.post(*request[:2]))
            assert status < 500, (status, text)

        property()
        stuck = endpoint.run(endpoint.db.fetchval("SELECT COUNT(*) FROM webhook_deliveries WHERE processed_at IS NULL"))
        assert stuck == 0 and endpoint.hooks.spool.pending() == 0
    finally:
        endpoint.close()
    checks.record(
        "webhook fuzz: no secret configured (anyone may post)",
        COUNTS["open"],
        "no 5xx; every stored delivery processed",
    )
