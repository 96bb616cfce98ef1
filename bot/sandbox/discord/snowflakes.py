"""Discord snowflakes whose timestamp part follows the sandbox clock."""

from __future__ import annotations

from bot.clock import Clock

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Make increasing Discord snowflakes whose timestamp part follows the sandbox clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = 0
        self._increment = 0

    def next(self) -> int:
        """Return a new snowflake, strictly larger than every earlier one."""
        ms = int(self._clock.now().timestamp() * 1000) - DISCORD_EPOCH_MS
        self._increment = (self._increment + 1) & 0xFFF
        candidate = (max(ms, 0) << 22) | (1 << 17) | self._increment
        self._last = max(candidate, self._last + 1)
        return self._last
