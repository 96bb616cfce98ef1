"""Counters and gauges of the whole bot, rendered for /metrics in Prometheus' text format."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Metrics:
    """Counters and gauges for /metrics, in Prometheus' text format.

    A gauge reads one value, or one value per label set (``{'{job="x"}': 3.0}``) for a labelled family.
    """

    def __init__(self) -> None:
        self.counters: dict[str, float] = {}
        self.gauges: dict[str, Callable[[], Awaitable[float | dict[str, float]]]] = {}

    def inc(self, name: str, amount: float = 1) -> None:
        """Add to a counter."""
        self.counters[name] = self.counters.get(name, 0) + amount

    async def render(self) -> str:
        """Render every counter and gauge, each family under one TYPE line (Prometheus refuses a second)."""
        families: dict[str, list[str]] = {}
        for name, count in sorted(self.counters.items()):
            families.setdefault(name.split("{")[0], ["counter"]).append(f"{name} {count}")
        for name, read in sorted(self.gauges.items()):
            try:
                value = await read()
            except Exception:  # a gauge that cannot be read is left out, not fatal
                log.debug("gauge %s failed", name, exc_info=True)
                continue
            readings = value if isinstance(value, dict) else {"": value}
            families[name] = ["gauge", *(f"{name}{labels} {float(v)}" for labels, v in sorted(readings.items()))]
        lines = []
        for family, (kind, *samples) in families.items():
            lines += [f"# TYPE {family} {kind}", *samples]
        return "\n".join(lines) + "\n"
