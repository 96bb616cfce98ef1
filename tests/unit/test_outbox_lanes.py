"""Outbox lanes: order within a lane, independence between lanes, dead letters, monotonic back-off, and posts
that may have been sent looked for before they are sent again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.errors import UserFacingError
from bot.messages import OutMessage
from bot.outbox import (
    Dispatcher,
    PermanentError,
    SeenMessage,
    TransientError,
    enqueue_dm,
    enqueue_message,
    enqueue_role,
    find_posted,
    retry_failed,
)

BOT = 1


class LaneSink:
    """A Discord stand-in whose channels fail as told; a "lost answer" posts and then raises."""

    def __init__(self) -> None:
        self.failing: dict[int, Exception] = {}
        self.lost_answer: set[int] = set()
        self.posts: list[SeenMessage] = []
        self.channel_of: dict[int, int] = {}
        self.roles: list[tuple[int, int]] = []
        self.reads = 0
        self.unreadable = False

    async def send_message(self, channel_id: int, message: OutMessage, nonce: str) -> int:
        if channel_id in self.failing:
            raise self.failing[channel_id]
        posted = SeenMessage(5000 + len(self.posts), BOT, nonce, message.content, ())
        self.posts.append(posted)
        self.channel_of[posted.id] = channel_id
        if channel_id in self.lost_answer:
            self.lost_answer.discard(channel_id)
            raise TransientError("timed out", maybe_sent=True)
        return posted.id

    async def send_dm(self, user_id: int, message: OutMessage, nonce: str) -> int:
        return await self.send_message(-user_id, message, nonce)

    async def edit_message(self, channel_id: int, message_id: int, message: OutMessage) -> None:
        raise AssertionError("no edits here")

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        self.roles.append((user_id, role_id))

    async def remove_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        self.roles.remove((user_id, role_id))

    async def recent_messages(self, channel_id: int | None, user_id: int | None, since: datetime) -> list[SeenMessage]:
        self.reads += 1
        if self.unreadable:
            raise PermanentError("403 Missing Access")
        target = channel_id if channel_id is not None else -(user_id or 0)
        return [m for m in reversed(self.posts) if self.channel_of[m.id] == target]

    def own_id(self) -> int:
        return BOT

    def texts(self, channel_id: int) -> list[str]:
        return [m.content for m in self.posts if self.channel_of[m.id] == channel_id]


async def post(db: Database, clock: ManualClock, key: str, channel: int, text: str) -> None:
    async with db.transaction() as conn:
        await enqueue_message(conn, key, channel, OutMessage(text), now=clock.now())


async def test_a_failing_channel_holds_no_other_lane_but_keeps_its_own_order(db: Database, clock: ManualClock) -> None:
    sink = LaneSink()
    sink.failing[10] = TransientError("Discord answered 503")
    await post(db, clock, "a1", 10, "kudos one")
    await post(db, clock, "a2", 10, "kudos two")
    await post(db, clock, "b1", 20, "digest")
    async with db.transaction() as conn:
        await enqueue_role(conn, "r1", add=True, guild_id=1, user_id=7, role_id=3, reason="", now=clock.now())
        await enqueue_dm(conn, "d1", 7, OutMessage("hello"), now=clock.now())
    dispatcher = Dispatcher(db, clock, sink)
    await dispatcher.run_once()
    assert sink.texts(20) == ["digest"] and sink.roles == [(7, 3)] and sink.texts(-7) == ["hello"]
    assert sink.texts(10) == [], "the second kudos waits behind the first: order holds within a lane"
    del sink.failing[10]
    clock.advance(Dispatcher.MAX_BACKOFF * 2)
    await dispatcher.run_once()
    assert sink.texts(10) == ["kudos one", "kudos two"]


async def test_a_row_past_its_attempts_fails_for_good_and_only_a_retry_brings_it_back(
    db: Database, clock: ManualClock
) -> None:
    sink = LaneSink()
    sink.failing[10] = TransientError("Discord answered 503")
    await post(db, clock, "a", 10, "stuck")
    dispatcher = Dispatcher(db, clock, sink)
    for _ in range(Dispatcher.MAX_ATTEMPTS + 5):
        await dispatcher.run_once()
        clock.advance(Dispatcher.MAX_BACKOFF * 2)
    row = await db.fetchone("SELECT id, attempts, failed, done_at, last_error FROM outbox")
    assert row is not None and row["failed"] == 1 and row["done_at"] is not None
    assert row["attempts"] == Dispatcher.MAX_ATTEMPTS and "503" in row["last_error"]
    assert dispatcher.failed == 1, "failed once, not once per later look"
    del sink.failing[10]
    await dispatcher.run_once()
    assert sink.texts(10) == [], "a failed row is not retried on its own"
    with pytest.raises(UserFacingError, match="no outbox entry #999"):
        await retry_failed(db, 999, clock.now())
    await retry_failed(db, int(row["id"]), clock.now())
    with pytest.raises(UserFacingError, match="has not failed"):
        await retry_failed(db, int(row["id"]), clock.now())
    await dispatcher.run_once()
    assert sink.texts(10) == ["stuck"]


async def test_a_permanent_refusal_is_a_dead_letter_at_once(db: Database, clock: ManualClock) -> None:
    sink = LaneSink()
    sink.failing[10] = PermanentError("403 Missing Access")
    await post(db, clock, "a", 10, "hidden")
    await Dispatcher(db, clock, sink).run_once()
    assert await db.fetchval("SELECT attempts FROM outbox WHERE failed = 1") == 1


async def test_a_wall_clock_set_back_a_day_delays_no_retry(db: Database, clock: ManualClock) -> None:
    sink = LaneSink()
    sink.failing[10] = TransientError("Discord answered 503", retry_after=30)
    await post(db, clock, "a", 10, "soon")
    dispatcher = Dispatcher(db, clock, sink)
    await dispatcher.run_once()
    del sink.failing[10]
    clock.set(clock.now() - timedelta(days=1))
    await post(db, clock, "b", 20, "after the step back")
    await dispatcher.run_once()
    assert sink.texts(20) == ["after the step back"]
    clock.advance(31)
    await dispatcher.run_once()
    assert sink.texts(10) == ["soon"], "retried after its 30 s, not a day later"


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(db: Database, clock: ManualClock) -> None:
    sink = LaneSink()
    sink.lost_answer.add(10)
    await post(db, clock, "a", 10, "once")
    dispatcher = Dispatcher(db, clock, sink)
    await dispatcher.run_once()
    clock.advance(Dispatcher.MAX_BACKOFF * 2)
    await dispatcher.run_once()
    assert sink.texts(10) == ["once"] and sink.reads == 1
    row = await db.fetchone("SELECT done_at, result FROM outbox")
    assert row is not None and row["done_at"] is not None and str(sink.posts[0].id) in row["result"]
    assert dispatcher.found_posted == 1


def test_find_posted_prefers_the_nonce_and_falls_back_to_unclaimed_identical_text() -> None:
    message = OutMessage("🙌 <@2>, <@1> says thank you!", embeds=({"description": "for the review"},))
    embeds = (("", "for the review"),)
    seen = [
        SeenMessage(9, BOT, None, message.content, embeds),
        SeenMessage(8, BOT, None, message.content, embeds),
        SeenMessage(7, 42, None, message.content, embeds),
        SeenMessage(6, BOT, "other-row", message.content, embeds),
    ]
    assert find_posted(seen, bot_id=BOT, nonce="mine", message=message, claimed=set()) == 8
    assert find_posted(seen, bot_id=BOT, nonce="mine", message=message, claimed={8}) == 9
    assert find_posted(seen, bot_id=BOT, nonce="mine", message=message, claimed={8, 9}) is None
    assert (
        find_posted(
            [*seen, SeenMessage(3, BOT, "mine", "", ())], bot_id=BOT, nonce="mine", message=message, claimed=set()
        )
        == 3
    )
    assert find_posted(seen, bot_id=BOT, nonce="mine", message=OutMessage("other"), claimed=set()) is None


async def test_a_channel_the_bot_cannot_read_back_still_gets_the_post(db: Database, clock: ManualClock) -> None:
    sink = LaneSink()
    sink.failing[10] = TransientError("timed out", maybe_sent=True)
    sink.unreadable = True
    await post(db, clock, "a", 10, "hello")
    dispatcher = Dispatcher(db, clock, sink)
    await dispatcher.run_once()
    del sink.failing[10]
    clock.advance(Dispatcher.MAX_BACKOFF * 2)
    await dispatcher.run_once()
    assert sink.reads == 1 and sink.texts(10) == ["hello"], "not lost for want of Read Message History"


def test_the_sandbox_clocks_monotonic_reading_follows_moves_forward_and_ignores_moves_back() -> None:
    clock = ManualClock()
    start = clock.monotonic()
    clock.advance(600)
    clock.set(clock.now() - timedelta(days=1))
    clock.set(clock.now() + timedelta(hours=1))
    moved = clock.monotonic() - start
    assert 600 + 3600 <= moved < 600 + 3600 + 60, moved


async def test_many_failing_lanes_never_crowd_out_a_healthy_one(db: Database, clock: ManualClock) -> None:
    sink = LaneSink()
    failing = Dispatcher.CONCURRENCY * 3
    for channel in range(100, 100 + failing):
        sink.failing[channel] = TransientError("Discord answered 503")
        await post(db, clock, f"bad{channel}", channel, "stuck")
    await post(db, clock, "good", 20, "fine")
    dispatcher = Dispatcher(db, clock, sink)
    await dispatcher.run_once()
    assert sink.texts(20) == ["fine"]
    assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE attempts = 1 AND done_at IS NULL") == failing
