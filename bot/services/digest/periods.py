"""Digest periods, aligned to the schedule: a period ends at a cron slot and starts ``length`` earlier."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserFacingError
from bot.schedule import crontab_trigger, latest_fire_time

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough back to find the previous slot of any sensible schedule (a yearly one, say).
_LOOKBACK_LIMIT = timedelta(days=800)
_PERIOD_HELP = 'Choose "this" (the period so far), "last" (the last finished one) or a date like 2026-03-06.'


EARLIEST_DAY = date(2008, 1, 1)  # GitHub opened in 2008: no digest period can start before


@dataclass(frozen=True)
class Period:
    """The half-open span ``[start, end)`` a digest covers, in aware UTC."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        """How long the period is."""
        return self.end - self.start


class Schedule:
    """A cron expression in a time zone, and the digest periods it defines."""

    def __init__(self, cron: str, timezone: str, length: timedelta) -> None:
        self.zone = ZoneInfo(timezone)
        self.trigger = crontab_trigger(cron, self.zone)
        self.length = length

    def next_slot(self, after: datetime) -> datetime:
        """Return the first slot strictly after ``after``."""
        found = self.trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
        if found is None:
            raise ValueError("the digest schedule never fires again")
        return found.astimezone(UTC)

    def latest_slot(self, now: datetime) -> datetime | None:
        """Return the latest slot at or before ``now``, or None if there is none in reach."""
        return latest_fire_time(self.trigger, now, _LOOKBACK_LIMIT)

    def ending_at(self, end: datetime) -> Period:
        """Return the period that ends at the slot ``end``."""
        return Period(self._back(end, 1), end)

    def earlier(self, period: Period, count: int) -> Period:
        """Return the period ``count`` lengths before ``period``."""
        return self.ending_at(self._back(period.end, count))

    def _back(self, when: datetime, count: int) -> datetime:
        # Step back in the zone's wall time, so a week is still Friday 16:00 to Friday 16:00 across a DST change.
        return (when.astimezone(self.zone) - self.length * count).astimezone(UTC)

    def last_finished(self, now: datetime) -> Period | None:
        """Return the period that ended at the latest slot, the one the scheduled digest covers."""
        slot = self.latest_slot(now)
        return None if slot is None else self.ending_at(slot)

    def current(self, now: datetime) -> Period:
        """Return the period in progress: it ends at the next slot."""
        return self.ending_at(self.next_slot(now))

    def containing(self, day: date) -> Period:
        """Return the period in progress at the start of ``day`` in the schedule's zone."""
        moment = datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)
        return self.ending_at(self.next_slot(moment))

    def resolve(self, spec: str | None, now: datetime) -> Period:
        """Turn a command's period option ("this", "last" or YYYY-MM-DD) into a period; explain a bad one."""
        text = (spec or "this").strip().lower()
        if text in {"this", "current", "now"}:
            return self.current(now)
        if text in {"last", "previous"}:
            period = self.last_finished(now)
            if period is None:
                raise UserFacingError("The digest schedule has no finished period yet. " + _PERIOD_HELP)
            return period
        if not _DATE.match(text):
            raise UserFacingError(f"I can't read the period {spec!r}. {_PERIOD_HELP}")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise UserFacingError(f"{spec!r} is not a real date. {_PERIOD_HELP}") from None
        if day < EARLIEST_DAY:
            raise UserFacingError(
                f"{text} is before {EARLIEST_DAY:%Y} (before GitHub existed), so there is no digest for it. "
                + _PERIOD_HELP
            )
        if datetime.combine(day, time(0), tzinfo=self.zone) > now:
            raise UserFacingError(f"{text} is in the future, so there is no digest for it yet. {_PERIOD_HELP}")
        return self.containing(day)
