"""GitHub's primary rate-limit buckets, as the emulator keeps them (fixed windows on wall-clock time)."""

from __future__ import annotations

import math
import time

LIMITS = {"core": (5000, 3600), "search": (30, 60), "graphql": (5000, 3600)}
# ``--rate-limits fast`` keeps every bucket's size and makes its window 100 times shorter (core: 36 s, not an hour).
WINDOW_SCALES = {"real": 1.0, "fast": 0.01}


class Bucket:
    """A fixed-window rate-limit bucket on wall-clock time (what clients compare X-RateLimit-Reset with)."""

    def __init__(self, limit: int, period: int) -> None:
        self.limit = limit
        self.period = period
        self.used = 0
        self.window_start = time.time()

    def _refresh(self) -> None:
        if time.time() >= self.window_start + self.period:
            self.used = 0
            self.window_start = time.time()

    @property
    def remaining(self) -> int:
        """Return the requests left in this window."""
        self._refresh()
        return max(self.limit - self.used, 0)

    @property
    def reset(self) -> int:
        """Return when the window resets, in epoch seconds."""
        self._refresh()
        return math.ceil(self.window_start + self.period)

    def as_json(self) -> dict[str, int]:
        """Return the bucket as GET /rate_limit shows it."""
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining, "reset": self.reset}
