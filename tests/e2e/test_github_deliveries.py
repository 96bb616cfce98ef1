"""Webhooks as GitHub really delivers them: late, out of order, and again ("Redeliver")."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_kudos import first_pr_posts, wait_until_live

REPO = "sandbox/project"


async def held_changes(sb: Any, number: int) -> None:
    """Request a review, convert to draft, mark ready, then close: each change a second apart, webhooks held."""
    changes = [
        (f"/github/pulls/{REPO}/{number}/review-requests", {"reviewers": ["rita"]}),
        (f"/github/pulls/{REPO}/{number}/draft", None),
        (f"/github/pulls/{REPO}/{number}/ready", None),
        (f"/github/pulls/{REPO}/{number}/draft", None),
        (f"/github/pulls/{REPO}/{number}/close", None),
    ]
    for path, body in changes:
        await sb.clock(advance=1)
        await sb.post(path, body, deliver="hold")


async def ledger_view(sb: Any, number: int) -> tuple[Any, ...]:
    db = sb.sandbox.services.db
    pull = await db.fetchone("SELECT state, draft, labels FROM pull_requests WHERE number = ?", (number,))
    waiting = await db.fetchall(
        "SELECT reviewer FROM review_requests WHERE number = ? AND removed_at IS NULL", (number,)
    )
    return tuple(pull or ()), sorted(row[0] for row in waiting)


async def test_held_deliveries_released_reversed_or_shuffled_end_as_in_order(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await sandbox.user("rita")
    orders = {"as-held": 0, "reverse": 0, "shuffle": 0}
    for order in orders:
        orders[order] = await sandbox.pull("author", f"Released {order}")
        await sandbox.settle()
        await held_changes(sandbox, orders[order])
        released = await sandbox.post("/github/deliveries/release", {"order": order, "seed": 7})
        assert len(released["deliveries"]) == 5
        await sandbox.settle()
    views = {order: await ledger_view(sandbox, number) for order, number in orders.items()}
    assert views["as-held"][0][:2] == ("closed", 1)
    assert views["reverse"] == views["as-held"] and views["shuffle"] == views["as-held"], views
    assert await sandbox.get("/github/rejections") == []


async def test_a_redelivered_merge_is_recorded_once_and_celebrated_once(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await sandbox.user("newcomer")
    number = await sandbox.pull("newcomer", "First change")
    merged = await sandbox.merge(number)
    await sandbox.settle()
    again = await sandbox.post(f"/github/deliveries/{merged['delivery']}/redeliver")
    assert again["delivery"] == merged["delivery"]
    await sandbox.settle()
    assert len(first_pr_posts(await sandbox.messages("kudos"))) == 1
    recorded = await sandbox.sandbox.services.db.fetchval(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE delivery_id = ?", (merged["delivery"],), default=0
    )
    assert recorded == 1
    sent = [d for d in sandbox.sandbox.github.deliveries if d["id"] == merged["delivery"]]
    assert [d["redelivery"] for d in sent] == [False, True]
