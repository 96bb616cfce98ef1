"""Stay under Discord's cap on edits of messages older than an hour (30046), per channel.

Discord limits how often a bot may edit its hour-old messages in one channel and answers 429 with code 30046
past that, with a retry time of up to an hour. Late links refresh old kudos posts in bursts (60 members linking
after a busy week), so the bot keeps a budget below the cap and leaves the rest of a burst's edits of hour-old
posts undone (they are cosmetic: the post still names the contributor), saying so in the log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

import discord

OLD = timedelta(hours=1)
#: Edits of hour-old messages per channel per hour; Discord's cap is higher, the margin is for retries and people.
BUDGET, WINDOW = 20, 3600.0


class OldEditBudget:
    """Count edits of hour-old messages per channel over a sliding hour."""

    def __init__(self, budget: int = BUDGET, window: float = WINDOW, now: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self.window = window
        self._now = now
        self._spent: dict[int, deque[float]] = {}
        self.skipped = 0

    def allow(self, channel_id: int, message_id: int, at: datetime) -> bool:
        """Tell whether editing ``message_id`` now stays within the budget (recent messages always do)."""
        if at - discord.utils.snowflake_time(message_id) < OLD:
            return True
        now = self._now()
        spent = self._spent.setdefault(channel_id, deque())
        while spent and now - spent[0] >= self.window:
            spent.popleft()
        if len(spent) >= self.budget:
            self.skipped += 1
            return False
        spent.append(now)
        return True


#: New DM channels a minute: Discord answers 403 40003 ("opening direct messages too fast") past its own limit.
DM_OPENS, DM_WINDOW = 8, 60.0


class DmOpener:
    """Remember each member's DM channel and open new ones at a pace Discord accepts."""

    def __init__(self, budget: int = DM_OPENS, window: float = DM_WINDOW, now: Callable[[], float] = time.monotonic):
        self.budget = budget
        self.window = window
        self._now = now
        self._opened: deque[float] = deque()
        self.channels: dict[int, int] = {}

    def wait_before_opening(self) -> float:
        """Return 0 when a new DM channel may be opened now (and count it), else how many seconds to wait."""
        now = self._now()
        while self._opened and now - self._opened[0] >= self.window:
            self._opened.popleft()
        if len(self._opened) >= self.budget:
            return self._opened[0] + self.window - now
        self._opened.append(now)
        return 0.0
