"""Clocks: every service reads time from one of these, never from ``datetime.now()``."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


def monotonic(clock: Clock) -> float:
    """Return seconds on a clock that never goes back: the clock's own, or the machine's monotonic clock.

    Waits (retry back-off) are measured on it, so a wall-clock step back delays nothing.
    """
    read = getattr(clock, "monotonic", None)
    return float(read()) if callable(read) else time.monotonic()


class SystemClock:
    """Read the machine's wall clock."""

    def now(self) -> datetime:
        """Return the current aware UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return the machine's monotonic seconds (unaffected by wall-clock steps)."""
        return time.monotonic()


class ManualClock:
    """A clock that can be set and advanced, used by the sandbox and tests.

    It keeps running with real time between moves, so that timers and ordering behave naturally. Its monotonic
    reading moves with real time and with every forward move, never with a move back.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._forward = 0.0
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        """Return the clock's current aware UTC time."""
        with self._lock:
            return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (an aware datetime)."""
        if when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            offset = when - datetime.now(UTC)
            self._forward += max(0.0, (offset - self._offset).total_seconds())
            self._offset = offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            self._forward += max(0.0, seconds)

    def monotonic(self) -> float:
        """Return monotonic seconds: real time elapsed plus every forward move (a move back is ignored)."""
        with self._lock:
            return time.monotonic() + self._forward

    @property
    def offset_seconds(self) -> float:
        """How far this clock is ahead of the machine's wall clock, in seconds."""
        with self._lock:
            return self._offset.total_seconds()
