"""The bus feeds every consumer the same events in a step, so the cause's post always comes before its effect's."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.clock import ManualClock
from bot.db import Database
from bot.domain import KudosGiven, KudosWithdrawn
from bot.events import Event, EventBus, append_event


class Recorder:
    """A consumer that notes what it handled, in one shared log; the first one writes an event while it works."""

    def __init__(self, name: str, log: list[tuple[str, int]], db: Database, clock: ManualClock, writes: bool) -> None:
        self.name, self.log, self.db, self.clock, self.writes = name, log, db, clock, writes

    async def handle(self, conn: aiosqlite.Connection, events: Sequence[Event]) -> None:
        for event in events:
            self.log.append((self.name, event.seq))
        if self.writes and len(self.log) == 1:
            # An event is committed while the step is under way (here by the consumer itself; a webhook, a command
            # or a reaction can do the same between one consumer's batch and the next's).
            await append_event(conn, KudosWithdrawn(1, 2, 3, 4), historical=False, now=self.clock.now())


async def test_an_event_written_during_a_step_reaches_every_consumer_in_subscription_order(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await append_event(conn, KudosGiven(1, 2, 3), historical=False, now=clock.now())
    handled: list[tuple[str, int]] = []
    bus = EventBus(db, clock)
    bus.subscribe(Recorder("recognition", handled, db, clock, writes=True))
    bus.subscribe(Recorder("ladder", handled, db, clock, writes=False))
    await bus.start()
    try:
        await bus.drain()
    finally:
        await bus.stop()
    # Without the step's snapshot the ladder would see event 2 in the first step, before recognition does.
    assert handled == [("recognition", 1), ("ladder", 1), ("recognition", 2), ("ladder", 2)]
