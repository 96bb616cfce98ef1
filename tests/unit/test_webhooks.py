"""The webhook receiver, fed GitHub's real payloads (from ../shared/fixtures) over HTTP."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.db import Database
from bot.github.webhooks import WebhookReceiver, signature_ok
from bot.ledger import Ledger
from bot.web import WebServer
from tests.conftest import FIXTURES

SECRET = "It's a Secret to Everybody"
PAYLOADS = FIXTURES / "github-webhooks" / "payload-examples" / "api.github.com"
needs_fixtures = pytest.mark.skipif(not PAYLOADS.is_dir(), reason=f"GitHub webhook fixtures not found at {PAYLOADS}")


def fixture(event: str, action: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / event / f"{action}.payload.json").read_text())


def repo_of(payload: dict[str, Any]) -> str:
    return payload["repository"]["full_name"]


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signature_matches_githubs_documented_vector() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_ok(SECRET.encode(), b"Hello, World!", header)
    assert not signature_ok(SECRET.encode(), b"Hello, World?", header)
    assert not signature_ok(SECRET.encode(), b"Hello, World!", None)


@pytest.fixture
async def receiver(db: Database, clock: ManualClock) -> AsyncIterator[tuple[TestClient, WebhookReceiver]]:
    repos = ["Codertocat/Hello-World", "octo-org/octo-repo"]
    hooks = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=repos)
    client = TestClient(TestServer(WebServer(db, hooks.metrics, webhooks=hooks).app()))  # as the bot serves it
    await client.start_server()
    await hooks.start_processing()
    yield client, hooks
    await hooks.stop()
    await client.close()


async def deliver(
    client: TestClient, event: str, payload: Any, delivery: str | None = None, signature: str | None = None
) -> int:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature or sign(body),
        "Content-Type": "application/json",
    }
    response = await client.post("/github/webhook", data=body, headers=headers)
    return response.status


@needs_fixtures
async def test_real_pr_opened_payload_lands_in_the_ledger(receiver: Any, db: Database) -> None:
    client, hooks = receiver
    payload = fixture("pull_request", "opened")
    assert await deliver(client, "pull_request", payload) == 202
    await hooks.drain()
    row = await db.fetchone("SELECT * FROM pull_requests")
    assert row["number"] == payload["pull_request"]["number"] and row["state"] == "open"
    assert row["author_id"] == payload["pull_request"]["user"]["id"]


@needs_fixtures
async def test_merged_close_derived_from_the_real_closed_payload_is_recorded_once(receiver: Any, db: Database) -> None:
    client, hooks = receiver
    # The upstream corpus has no merged example: derive one by editing a copy of the real "closed" payload.
    payload = copy.deepcopy(fixture("pull_request", "closed"))
    payload["pull_request"].update(
        merged=True, merged_at=payload["pull_request"]["closed_at"], merged_by=payload["sender"]
    )
    delivery = str(uuid.uuid4())
    assert await deliver(client, "pull_request", payload, delivery) == 202
    assert await deliver(client, "pull_request", payload, delivery) == 200
    assert await deliver(client, "pull_request", payload) == 202
    await hooks.drain()
    assert await db.fetchval("SELECT state FROM pull_requests") == "merged"
    assert await db.fetchval("SELECT COUNT(*) FROM events WHERE kind = 'pr.merged'") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_deliveries") == 2


@needs_fixtures
@pytest.mark.parametrize(
    ("event", "action", "table"),
    [
        ("pull_request_review", "submitted", "reviews"),
        ("pull_request", "review_requested", "review_requests"),
        ("star", "created", "stars"),
    ],
)
async def test_real_payloads_reach_their_tables(
    receiver: Any, db: Database, event: str, action: str, table: str
) -> None:
    client, hooks = receiver
    assert await deliver(client, event, fixture(event, action)) == 202
    await hooks.drain()
    assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 1


@needs_fixtures
async def test_issue_closed_derived_from_the_real_reopened_payload(receiver: Any, db: Database) -> None:
    client, hooks = receiver
    payload = copy.deepcopy(fixture("issues", "reopened"))
    payload["action"] = "closed"
    payload["issue"].update(state="closed", closed_at=payload["issue"]["updated_at"], state_reason="completed")
    assert await deliver(client, "issues", payload) == 202
    await hooks.drain()
    row = await db.fetchone("SELECT * FROM issues")
    assert row["state"] == "closed" and row["closed_by_id"] == payload["sender"]["id"]


@needs_fixtures
async def test_wrong_or_missing_signature_is_refused_and_nothing_lands(receiver: Any, db: Database) -> None:
    client, _ = receiver
    payload = fixture("pull_request", "opened")
    assert await deliver(client, "pull_request", payload, signature="sha256=" + "0" * 64) == 401
    body = json.dumps(payload).encode()
    response = await client.post(
        "/github/webhook", data=body, headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "x"}
    )
    assert response.status == 401
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_deliveries") == 0


async def test_non_json_ping_and_untracked_repositories(receiver: Any, db: Database) -> None:
    client, _ = receiver
    body = b"payload=%7B%7D"
    response = await client.post(
        "/github/webhook",
        data=body,
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "1", "X-Hub-Signature-256": sign(body)},
    )
    assert response.status == 400
    assert await deliver(client, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1}) == 200
    other = {"action": "created", "repository": {"full_name": "someone/else"}, "sender": {"id": 1, "login": "x"}}
    assert await deliver(client, "star", other) == 202
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_deliveries") == 0


async def test_oversized_body_is_refused(receiver: Any) -> None:
    client, _ = receiver
    response = await client.post(
        "/github/webhook",
        data=b"x",
        headers={"Content-Length": str(26 * 1024 * 1024), "X-GitHub-Event": "star", "X-GitHub-Delivery": "1"},
        skip_auto_headers=[],
    )
    assert response.status in {400, 413}


async def test_unprocessed_delivery_is_processed_after_a_restart(db: Database, clock: ManualClock) -> None:
    payload = {
        "action": "created",
        "starred_at": "2026-01-01T00:00:00Z",
        "repository": {"full_name": "o/r"},
        "sender": {"id": 5, "login": "stargazer", "type": "User"},
    }
    await db.execute(
        "INSERT INTO webhook_deliveries(delivery_id, event, action, received_at, body) "
        "VALUES ('d1', 'star', 'created', '2026-01-01T00:00:00Z', ?)",
        (json.dumps(payload).encode(),),
    )
    hooks = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"])
    await hooks.start_processing()
    await hooks.drain()
    await hooks.stop()
    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 1
    assert await db.fetchval("SELECT processed_at IS NOT NULL FROM webhook_deliveries") == 1


def star(n: int, repo: str = "o/r") -> dict[str, Any]:
    return {
        "action": "created",
        "starred_at": f"2026-01-01T00:00:{n:02d}Z",
        "repository": {"full_name": repo},
        "sender": {"id": 100 + n, "login": f"gazer{n}", "type": "User"},
    }


async def test_spooled_deliveries_are_recorded_after_a_restart_and_redeliveries_answered_as_such(
    db: Database, clock: ManualClock
) -> None:
    first = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"])
    client = TestClient(TestServer(first.app()))
    await client.start_server()
    await first.start_processing()
    await first.intake.stop()  # the bot dies after acknowledging, before recording
    assert [await deliver(client, "star", star(n), f"d{n}") for n in range(3)] == [202, 202, 202]
    await client.close()
    await first.stop()
    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 0

    second = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"])
    client = TestClient(TestServer(second.app()))
    await client.start_server()
    await second.start_processing()
    await second.drain()
    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 3
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_deliveries WHERE processed_at IS NOT NULL") == 3
    assert second.spool.pending() == 0
    await client.close()
    await second.stop()

    third = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"])
    client = TestClient(TestServer(third.app()))
    await client.start_server()
    await third.start_processing()
    assert third.pending() == 0, "recorded deliveries are not processed again"
    assert await deliver(client, "star", star(1), "d1") == 200, "a redelivery GitHub sends later is known"
    assert await deliver(client, "star", star(9), "d9") == 202
    await third.drain()
    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 4
    assert len(list(third.spool.folder.glob("*.spool"))) <= 2, "segments whose deliveries are recorded are deleted"
    await client.close()
    await third.stop()


async def test_a_spool_that_cannot_be_written_answers_503_and_loses_nothing_it_acknowledged(
    receiver: Any, db: Database
) -> None:
    client, hooks = receiver
    assert await deliver(client, "star", star(1, "Codertocat/Hello-World"), "ok") == 202
    await hooks.drain()

    def refuse(items: Any) -> Any:
        raise OSError(28, "No space left on device")

    hooks.spool.append, keep = refuse, hooks.spool.append
    assert await deliver(client, "star", star(2, "Codertocat/Hello-World"), "full") == 503
    hooks.spool.append = keep
    assert await deliver(client, "star", star(2, "Codertocat/Hello-World"), "full") == 202, "GitHub's retry lands"
    await hooks.drain()
    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 2
    text = await (await client.get("/metrics")).text()
    assert 'vestry_webhook_deliveries_total{result="not_stored"} 1' in text, text


@needs_fixtures
def test_a_review_request_delivery_names_who_asked_for_it() -> None:
    from bot.github.facts import facts_from_webhook
    from bot.ledger import ReviewRequestFact

    payload = fixture("pull_request", "review_requested")
    (request,) = [f for f in facts_from_webhook("pull_request", payload) if isinstance(f, ReviewRequestFact)]
    assert request.requester is not None and request.requester.id == payload["sender"]["id"]


async def test_a_spool_folder_that_cannot_be_created_stops_start_up_with_a_clear_message(
    db: Database, clock: ManualClock, tmp_path: Any
) -> None:
    from bot.db import DatabaseError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the spool folder should be")
    hooks = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"], spool=blocker / "x")
    with pytest.raises(DatabaseError, match=r"webhook spool folder .*not-a-folder/x cannot be used"):
        await hooks.start_processing()
    await hooks.stop()


async def test_a_delivery_spooled_twice_is_recorded_once_and_both_copies_released(
    db: Database, clock: ManualClock
) -> None:
    from bot.github.spool import Spool, folder_for

    body = json.dumps(star(4)).encode()
    spool = Spool(folder_for(db.path))
    spool.open()
    spool.append([("twice", "star", "2026-01-01T00:00:04Z", body)] * 2)  # e.g. a redelivery the cache forgot
    spool.close()
    hooks = WebhookReceiver(db, Ledger(db, clock), clock, secret=SECRET, repositories=["o/r"])
    await hooks.start_processing()
    await hooks.drain()
    assert await db.fetchval("SELECT COUNT(*) FROM stars") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM webhook_deliveries WHERE delivery_id = 'twice'") == 1
    assert hooks.spool.pending() == 0
    await hooks.stop()
