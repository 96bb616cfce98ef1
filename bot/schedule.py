"""Cron schedules read as crontab reads them, in a time zone of their own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    if token[:3] in _CRON_DAYS:
        return _CRON_DAYS.index(token[:3])
    raise ValueError(f"cannot read the weekday {token!r}")


def crontab_weekdays(field: str) -> str:
    """Translate a crontab day-of-week field (0 or 7 = Sunday, 1 = Monday) into APScheduler's day names.

    APScheduler 3 reads weekday numbers with 0 = Monday, so ``from_crontab("0 9 * * 1-5")`` would run
    Tuesday to Saturday; naming the days keeps the crontab meaning.
    """
    if field.strip() == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"cannot read the weekday field {field!r}")
        if spec in ("*", ""):
            first, last = 0, 6
        elif "-" in spec:
            low, high = spec.split("-", 1)
            first, last = _day_number(low), 7 if high.strip() == "7" else _day_number(high)
            if last < first:
                raise ValueError(f"cannot read the weekday field {field!r}")
        else:
            first = last = _day_number(spec)
            if step_text:
                last = 6
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_CRON_DAYS[(day + 1) % 7] for day in sorted((day - 1) % 7 for day in days))


def crontab_trigger(expr: str, tz: str | ZoneInfo) -> CronTrigger:
    """Build an APScheduler trigger from a five-field crontab expression with crontab's weekday numbers."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected five fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekdays = fields
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(weekdays), timezone=zone
    )


FIVE_YEARS = timedelta(days=5 * 366)


def latest_fire_time(trigger: CronTrigger, now: datetime, limit: timedelta = FIVE_YEARS) -> datetime | None:
    """Return the trigger's latest fire time at or before ``now`` (aware UTC), or None within ``limit``."""
    window = timedelta(minutes=2)
    while True:
        found = trigger.get_next_fire_time(None, now - window)
        if found is not None and found <= now:
            # The half-window before this one held no fire time, so this loop takes a step or two at most.
            while True:
                following = trigger.get_next_fire_time(found, found + timedelta(seconds=1))
                if following is None or following > now:
                    return found.astimezone(UTC)
                found = following
        if window >= limit:
            return None
        window = min(window * 2, limit)


_DATE_FIELDS = ("month", "day", "week", "day_of_week")
_CYCLE_START = date(2000, 1, 1)  # 28 years hold every (date, weekday) pair the Gregorian calendar has


def fires_at_all(trigger: CronTrigger) -> bool:
    """Tell whether the trigger has any fire time (``0 16 31 2 *`` has none: February has no 31st).

    APScheduler would search until the year 9999 for such a schedule (seconds of blocked event loop), so the
    days of one 28-year calendar cycle are checked against the date fields instead.
    """
    fields = [field for field in trigger.fields if field.name in _DATE_FIELDS]
    for offset in range(28 * 366):
        day = _CYCLE_START + timedelta(days=offset)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if all(field.get_next_value(moment) == field.get_value(moment) for field in fields):
            return True
    return False
