"""When nudges are due: cron slots in the schedule's time zone, quiet hours and quiet days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule import crontab_trigger, latest_fire_time


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class NudgeSchedule:
    """The nudge's cron slots and the quiet times in which nothing is posted."""

    def __init__(
        self,
        cron: str,
        tz: str,
        quiet_hours: tuple[str, str] | None = None,
        quiet_days: Iterable[int] = (),
    ) -> None:
        self.tz = ZoneInfo(tz)
        self.trigger = crontab_trigger(cron, tz)
        self.quiet_hours = (_hhmm(quiet_hours[0]), _hhmm(quiet_hours[1])) if quiet_hours else None
        self.quiet_days = frozenset(quiet_days)

    def slot_at(self, now: datetime) -> datetime | None:
        """Return the latest scheduled time at or before ``now`` (None if there is none in five years)."""
        return latest_fire_time(self.trigger, now)

    def next_slot(self, after: datetime) -> datetime | None:
        """Return the first scheduled time strictly after ``after``."""
        found = self.trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        return None if found is None else found.astimezone(UTC)

    def next_posting_slot(self, after: datetime) -> datetime | None:
        """Return the first scheduled time after ``after`` that is not on a quiet day."""
        slot = self.next_slot(after)
        for _ in range(14):
            if slot is None or not self.on_quiet_day(slot):
                return slot
            slot = self.next_slot(slot)
        return None

    def on_quiet_day(self, moment: datetime) -> bool:
        """Tell whether a moment falls on a quiet day (in the schedule's zone)."""
        return moment.astimezone(self.tz).isoweekday() in self.quiet_days

    def in_quiet_hours(self, moment: datetime) -> bool:
        """Tell whether a moment falls in the daily quiet window (which may wrap past midnight)."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        local = moment.astimezone(self.tz).time()
        if start < end:
            return start <= local < end
        if start > end:
            return local >= start or local < end
        return False

    def is_quiet(self, moment: datetime) -> bool:
        """Tell whether nothing may be posted at this moment."""
        return self.on_quiet_day(moment) or self.in_quiet_hours(moment)

    def release_time(self, slot: datetime) -> datetime | None:
        """When a slot's post may go out: at once, at the end of quiet hours, or never (a quiet day's slot).

        A slot on a quiet day is not carried over: the next scheduled slot covers what it would have said.
        """
        if self.on_quiet_day(slot):
            return None
        if not self.in_quiet_hours(slot):
            return slot
        assert self.quiet_hours is not None
        start, end = self.quiet_hours
        local = slot.astimezone(self.tz)
        day = local.date() + timedelta(days=1) if start > end and local.time() >= start else local.date()
        released = datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC)
        return None if self.on_quiet_day(released) else released
