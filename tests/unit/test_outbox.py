"""The outbox: each row performed once, in order; transient failures retried, permanent ones recorded."""

from __future__ import annotations

from datetime import datetime

from bot.clock import ManualClock
from bot.db import Database
from bot.messages import OutMessage
from bot.outbox import Dispatcher, PermanentError, SeenMessage, TransientError, enqueue_message, enqueue_role


class FakeSink:
    """A Discord stand-in that fails as told."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = failures or []
        self.sent: list[tuple[int, str, str]] = []
        self.roles: list[tuple[int, int]] = []

    async def send_message(self, channel_id: int, message: OutMessage, nonce: str) -> int:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((channel_id, message.content, nonce))
        return 1000 + len(self.sent)

    async def send_dm(self, user_id: int, message: OutMessage, nonce: str) -> int:
        return await self.send_message(user_id, message, nonce)

    async def edit_message(self, channel_id: int, message_id: int, message: OutMessage) -> None:
        self.sent.append((channel_id, "edit:" + message.content, ""))

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        self.roles.append((user_id, role_id))

    async def remove_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        self.roles.remove((user_id, role_id))

    async def recent_messages(self, channel_id: int | None, user_id: int | None, since: datetime) -> list[SeenMessage]:
        return [
            SeenMessage(1001 + i, 1, nonce, content, ())
            for i, (target, content, nonce) in enumerate(self.sent)
            if target in (channel_id, user_id)
        ][::-1]

    def own_id(self) -> int:
        return 1


async def test_duplicate_key_is_ignored_and_rows_run_in_order(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        assert await enqueue_message(conn, "a", 1, OutMessage("first"), now=clock.now())
        assert not await enqueue_message(conn, "a", 1, OutMessage("again"), now=clock.now())
        await enqueue_role(conn, "r", add=True, guild_id=1, user_id=5, role_id=6, reason="why", now=clock.now())
        await enqueue_message(conn, "b", 1, OutMessage("second"), now=clock.now())
    sink = FakeSink()
    await Dispatcher(db, clock, sink).run_once()
    assert [content for _, content, _ in sink.sent] == ["first", "second"]
    assert sink.roles == [(5, 6)]
    await Dispatcher(db, clock, sink).run_once()
    assert len(sink.sent) == 2


async def test_transient_failure_is_retried_after_backoff(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await enqueue_message(conn, "a", 1, OutMessage("hello"), now=clock.now())
    sink = FakeSink([TransientError("503", retry_after=5)])
    dispatcher = Dispatcher(db, clock, sink)
    await dispatcher.run_once()
    assert sink.sent == []
    clock.advance(6)
    await dispatcher.run_once()
    assert [content for _, content, _ in sink.sent] == ["hello"]
    assert await db.fetchval("SELECT attempts FROM outbox") == 2


async def test_permanent_failure_is_recorded_and_does_not_block_the_rest(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await enqueue_message(conn, "a", 1, OutMessage("forbidden"), now=clock.now())
        await enqueue_message(conn, "b", 1, OutMessage("fine"), now=clock.now())
    sink = FakeSink([PermanentError("403 Missing Permissions")])
    await Dispatcher(db, clock, sink).run_once()
    assert [content for _, content, _ in sink.sent] == ["fine"]
    assert await db.fetchval("SELECT failed FROM outbox WHERE dedupe_key = 'a'") == 1


async def test_nonce_is_stored_with_the_row_and_random_not_its_id(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await enqueue_message(conn, "a", 1, OutMessage("x"), now=clock.now())
        await enqueue_message(conn, "b", 1, OutMessage("y"), now=clock.now())
    sink = FakeSink()
    await Dispatcher(db, clock, sink).run_once()
    rows = await db.fetchall("SELECT id, nonce FROM outbox ORDER BY id")
    assert [nonce for _, _, nonce in sink.sent] == [row["nonce"] for row in rows]
    assert all(len(row["nonce"]) <= 25 and row["nonce"] != f"v{row['id']}" for row in rows)
    assert rows[0]["nonce"] != rows[1]["nonce"]
