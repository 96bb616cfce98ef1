"""Pacing the bot's own gateway commands, and a reconcile that Discord does not answer."""

from __future__ import annotations

from bot.discord.members import GatewayPacer


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_pacer_lets_limit_through_per_window_then_waits_for_the_oldest_to_age_out() -> None:
    fake = FakeTime()
    pacer = GatewayPacer(limit=3, per=60.0, now=fake.time, sleep=fake.sleep)
    sent = []
    for _ in range(7):
        await pacer.wait()
        sent.append(fake.now)
        fake.now += 1.0  # each request takes a second
    assert sent == [0.0, 1.0, 2.0, 60.0, 61.0, 62.0, 120.0]
    # never more than 3 in any 60 s
    assert all(sum(1 for t in sent if start <= t < start + 60) <= 3 for start in sent)
    assert pacer.waited == sum(fake.sleeps) == 57.0 + 57.0
