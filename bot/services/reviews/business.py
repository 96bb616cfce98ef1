"""Business time: how much of a wait fell on working days (and working hours), in the schedule's time zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)


def _clock_time(text: str) -> time | None:
    """Read "HH:MM"; "24:00" (the end of the day) reads as None."""
    if text == "24:00":
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days, holidays and optional working hours; a whole working day counts as 24 hours."""

    tz: ZoneInfo
    working_days: frozenset[int]
    holidays: frozenset[date] = frozenset()
    start: time = time(0)
    end: time | None = None

    @classmethod
    def build(
        cls, tz: str, working_days: Iterable[int], holidays: Iterable[str] = (), hours: str | None = None
    ) -> BusinessCalendar:
        """Build a calendar from the configuration's values (days 1 = Monday, dates "YYYY-MM-DD")."""
        start, end = time(0), None
        if hours:
            first, last = hours.split("-")
            start, end = _clock_time(first) or time(0), _clock_time(last)
        return cls(
            ZoneInfo(tz), frozenset(working_days), frozenset(date.fromisoformat(day) for day in holidays), start, end
        )

    def is_working_day(self, day: date) -> bool:
        """Tell whether a local date counts: a working weekday that is not a holiday."""
        return day.isoweekday() in self.working_days and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        if self.end is None:
            closes = datetime.combine(day + DAY, time(0), tzinfo=self.tz).astimezone(UTC)
        else:
            closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Count the working time between two moments, scaled so that a whole working day is one day."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._window(day)
                overlap = min(end, closes) - max(start, opens)
                if overlap > timedelta(0):
                    # Scaling keeps "2d" meaning two working days whatever the working hours (and across DST).
                    total += overlap * (DAY / (closes - opens))
            day += DAY
        return total
