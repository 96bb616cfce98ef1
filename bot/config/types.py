"""Small validated value types shared by the configuration models."""

from __future__ import annotations

import math
import re
import string
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from bot.schedule import crontab_trigger, fires_at_all

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
MAX_DURATION = timedelta(days=3660)  # ten years: anything longer is a typo, and far beyond it datetimes overflow
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
DISCORD_EPOCH_MS = 1420070400000


def parse_duration(value: Any) -> timedelta:
    """Parse ``"36h"``, ``"2d"``, ``"90s"``, ``"1w"`` or a number of seconds into a positive timedelta.

    Zero, negative, not-a-number and longer than ten years are refused with a ValueError that says so.
    """
    seconds = _duration_seconds(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be longer than zero, got {_shown(value)}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{_shown(value)} is too long: a duration may be at most ten years (3650d)")
    return timedelta(seconds=seconds)


def parse_duration_or_zero(value: Any) -> timedelta:
    """Parse a duration as ``parse_duration`` does, but also accept zero (for "at once" settings)."""
    if _duration_seconds(value) == 0:
        return timedelta(0)
    return parse_duration(value)


def _duration_seconds(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= 1e300:  # float() of a huge int overflows
            return math.inf if value > 0 else -math.inf
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f'expected a duration like "90s", "30m", "36h", "2d" or "1w", got {_shown(value)}')


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def format_duration(value: timedelta) -> str:
    """Render a timedelta the way the config file writes it."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def check_snowflake(value: Any) -> int:
    """Accept a Discord id (a snowflake, as an integer or a string of digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a Discord id (a number like 1094583495310856262), got {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"expected a Discord id (a number like 1094583495310856262), got {value!r}")
    number = int(text)
    if not 1 <= number < 2**63 or (number >> 22) + DISCORD_EPOCH_MS > 4102444800000:
        raise ValueError(f"{value!r} is not a Discord snowflake id")
    return number


def check_repo(value: str) -> str:
    """Accept a repository written as ``owner/name``."""
    if not _REPO.match(value):
        raise ValueError(f'expected a repository as "owner/name", got {value!r}')
    return value


def check_timezone(value: str) -> str:
    """Accept an IANA time-zone name such as ``Europe/Paris``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone {value!r}; expected an IANA name like "UTC" or "Europe/Paris"') from None
    return value


def check_cron(value: str) -> str:
    """Accept a five-field cron expression (minute hour day month weekday)."""
    try:
        trigger = crontab_trigger(value, "UTC")
    except ValueError as exc:
        raise ValueError(
            f'invalid cron expression {value!r} ({exc}); expected five fields like "0 9 * * 1-5"'
        ) from None
    if not fires_at_all(trigger):
        raise ValueError(
            f"the cron expression {value!r} never fires (no month has that day); pick a day every chosen month "
            'has, e.g. "0 16 28 2 *"'
        )
    return value


def check_url(value: str) -> str:
    """Accept an absolute http(s) URL with a host and no user-info (``https://api.github.com``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        raise ValueError(f'expected an http(s) URL like "https://api.github.com", got {_shown(value)}')
    return value


def check_path(value: str) -> str:
    """Accept a non-blank file path."""
    if not value.strip():
        raise ValueError('the path is empty; give a file name such as "vestry.sqlite3"')
    if "\x00" in value:
        raise ValueError("the path contains a NUL character")
    return value


def template_checker(allowed: frozenset[str]) -> AfterValidator:
    """Build a validator that accepts a message template using only the given named placeholders."""

    def check(value: str) -> str:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
        except ValueError as exc:
            raise ValueError(
                f"malformed template ({exc}); write placeholders as {{name}} and braces as {{{{ }}}}"
            ) from None
        for field in fields:
            if field not in allowed:
                known = ", ".join("{" + name + "}" for name in sorted(allowed))
                raise ValueError(f"unknown placeholder {{{field}}}; known placeholders: {known}")
        # A format spec may hold placeholders of its own ("{member:{tier.__class__}}"), which str.format would
        # fill, attributes and all: refuse them, and anything else that could not be filled at posting time.
        if any("{" in (spec or "") for _, field, spec, _ in string.Formatter().parse(value) if field is not None):
            raise ValueError("a placeholder's format may not contain another placeholder; write {name} plainly")
        try:
            value.format_map(dict.fromkeys(allowed, "text"))
        except (ValueError, KeyError, IndexError) as exc:
            raise ValueError(f"the template cannot be filled: {exc}") from None
        return value

    return AfterValidator(check)


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
DurationOrZero = Annotated[
    timedelta, BeforeValidator(parse_duration_or_zero), PlainSerializer(format_duration, return_type=str)
]
Snowflake = Annotated[int, BeforeValidator(check_snowflake)]
Repo = Annotated[str, AfterValidator(check_repo)]
TimeZone = Annotated[str, AfterValidator(check_timezone)]
Cron = Annotated[str, AfterValidator(check_cron)]
HttpUrl = Annotated[str, AfterValidator(check_url)]
FilePath = Annotated[str, AfterValidator(check_path)]
