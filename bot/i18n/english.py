"""The few English formats Vestry writes, without Babel's locale data (about 4.5 MiB resident once loaded).

English is the source language and what most communities speak, so most bots would load the CLDR data of
``en_US`` (and its ``root``) only to write "1,234", "3rd" and "5 Sep 2026". Each function here returns exactly what
Babel returns for ``en_US`` (tests/i18n/test_english.py compares them over wide ranges), or None for anything it
does not cover, and the caller then asks Babel.
"""

from __future__ import annotations

import re
from datetime import datetime

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TOKEN = re.compile(r"d+|M+|y+|H+|m+|[ :]+|.")
_ORDINAL_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def number(value: float) -> str | None:
    """Format an integer as ``en_US`` does ("-1,234,567"); None for anything else."""
    return f"{value:,}" if type(value) is int else None


def ordinal_suffix(value: int) -> str:
    """The ordinal's suffix by CLDR's English rules: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 111th."""
    value = abs(value)
    if value % 100 in (11, 12, 13):
        return "th"
    return _ORDINAL_SUFFIXES.get(value % 10, "th")


def moment(when: datetime, pattern: str) -> str | None:
    """Format an aware moment with an LDML pattern made of ``d``, ``MMM``, ``y``, ``HH``, ``mm``, spaces and
    colons, in its own time zone; None for any other pattern or a naive moment."""
    if when.tzinfo is None:
        return None
    fields = {
        "d": str(when.day),
        "MMM": _MONTHS[when.month - 1],
        "y": str(when.year),
        "HH": f"{when.hour:02d}",
        "mm": f"{when.minute:02d}",
    }
    parts = []
    for token in _TOKEN.findall(pattern):
        if token in fields:
            parts.append(fields[token])
        elif token.strip(" :"):
            return None  # a field or a quoted literal this module does not write
        else:
            parts.append(token)
    return "".join(parts)
