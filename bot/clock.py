"""Clocks: every service reads time from one of these, never from ``datetime.now()``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """Read the machine's wall clock."""

    def now(self) -> datetime:
        """Return the current aware UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that can be set and advanced, used by the sandbox and tests.

    It keeps running with real time between moves, so that timers and ordering behave naturally.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
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
            self._offset = when - datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
