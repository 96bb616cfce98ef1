"""Aware-UTC time helpers for storing and reading times."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(when: datetime) -> str:
    """Store an aware datetime as a sortable UTC ISO-8601 string."""
    if when.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware UTC time")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> datetime | None:
    """Read a stored or GitHub ISO-8601 time as an aware UTC datetime."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
