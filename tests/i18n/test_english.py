"""English formats written without Babel's locale data are exactly what Babel writes for en_US."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import ENGLISH, english, lang

EN_US = Locale.parse("en_US")
ORDINAL_SUFFIX = {"one": "st", "two": "nd", "few": "rd", "other": "th"}
PATTERNS = ("d MMM", "d MMM y", "d MMM HH:mm")  # the digest's English date patterns
ROOT = Path(__file__).resolve().parents[2]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_are_grouped_as_babel_groups_them(value: int) -> None:
    assert english.number(value) == format_decimal(value, locale=EN_US)
    assert ENGLISH.number(value) == format_decimal(value, locale=EN_US)


def test_what_english_does_not_cover_is_left_to_babel() -> None:
    assert english.number(2.5) is None and ENGLISH.number(1234.5678) == "1,234.568"
    assert english.number(True) is None
    when = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)
    assert english.moment(when, "EEEE d MMMM") is None and ENGLISH.moment(when, "EEEE d MMMM") == "Saturday 5 December"
    assert english.moment(when, "dd MMM yyyy") is None and ENGLISH.moment(when, "dd MMM yyyy") == "05 Dec 2026"
    assert english.moment(when, "d 'de' MMM") is None
    assert english.moment(when.replace(tzinfo=None), "d MMM") is None


def test_ordinals_follow_babels_english_plural_rules() -> None:
    for value in range(-1_200, 12_000):
        assert english.ordinal_suffix(value) == ORDINAL_SUFFIX[EN_US.ordinal_form(value)], value
    assert [ENGLISH.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th", "112th",
    ]  # fmt: skip
    assert lang("de").ordinal(3) == "3." and lang("pt-BR").ordinal(3) == "3º"


def test_every_day_and_minute_shape_of_the_digests_patterns_matches_babel() -> None:
    zones = [UTC, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-3))]
    start = date(2027, 1, 1)
    for offset in range(0, 3 * 366, 1):
        day = start - timedelta(days=offset)
        zone = zones[offset % len(zones)]
        when = datetime(day.year, day.month, day.day, offset % 24, (offset * 7) % 60, tzinfo=zone)
        for pattern in PATTERNS:
            assert english.moment(when, pattern) == format_datetime(when, pattern, tzinfo=zone, locale=EN_US)


def test_an_english_bot_formats_without_loading_babels_locale_data() -> None:
    code = """
import sys
from datetime import UTC, datetime
from babel import localedata
from bot.i18n import ENGLISH
print(ENGLISH.number(1234567), ENGLISH.ordinal(22), ENGLISH.join(["a", "b"]))
print(ENGLISH.moment(datetime(2026, 12, 5, 14, 30, tzinfo=UTC), "d MMM HH:mm"))
print(sorted(localedata._cache))
"""
    result = subprocess.run(  # the process's first use of Babel, as in a fresh bot
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1,234,567 22nd a and b", "5 Dec 14:30", "[]"]
