"""A record of every request an emulator refused, for ``GET /discord/rejections`` and ``GET /github/rejections``.

Real Discord and GitHub refuse what breaks their rules; the emulators refuse the same requests and note each
refusal here, so that a test (or an outside check) can assert that the bot caused none. Refusals a caller asked
for on purpose (``POST /discord/faults``, ``POST /github/faults``) are not refusals of the bot and are not listed.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

LIMIT = 10_000


class Rejections:
    """The refusals of one emulator, oldest first (the newest ``LIMIT`` of them)."""

    def __init__(self) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=LIMIT)

    def record(self, method: str, route: str, status: int, code: int | str | None, message: str, **extra: Any) -> None:
        """Note one refused request: its method, route template, status, error code and message."""
        item: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": status,
            "code": code,
            "message": message,
            "at": time.time(),
        }
        item.update(extra)
        self._items.append(item)

    def list(self) -> list[dict[str, Any]]:
        """Return every refusal recorded so far."""
        return list(self._items)

    def clear(self) -> None:
        """Forget every refusal (a test that provoked some on purpose may start afresh)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
