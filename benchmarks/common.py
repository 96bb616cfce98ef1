"""What every benchmark shares: the report it returns, statistics, the machine it ran on, processes and RSS."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import platform
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

#: Modules the bot has no use for in the default configuration: the chart's (drawn in a worker process), GitHub
#: App mode's (PyJWT's cryptography), the hall of fame's pages' (Jinja2), the sandbox's (graphql-core), the CLI's.
HEAVY = ("matplotlib", "numpy", "cryptography", "jinja2", "graphql", "rich")


@dataclass
class Measure:
    """One figure: Vestry's value, the baseline's (when there is one), the target and whether it is met.

    ``ratio`` is the figure that travels between machines; ``ratio_label`` says which way it reads.
    """

    name: str
    unit: str
    vestry: float | None
    baseline: float | None = None
    target: str = ""
    met: bool | None = None
    ratio: float | None = None
    ratio_label: str = ""
    note: str = ""


@dataclass
class Report:
    """What one benchmark run measured, with the parameters it ran with."""

    benchmark: str
    params: dict[str, Any]
    measures: list[Measure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, measure: Measure) -> Measure:
        """Add a figure and return it."""
        self.measures.append(measure)
        return measure

    def to_json(self) -> dict[str, Any]:
        """Return the report as plain JSON data."""
        return asdict(self)


def ratio_of(numerator: float | None, denominator: float | None) -> float | None:
    """Divide, or None when either side is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile (nearest rank) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    """Return the median, or NaN for no values."""
    return statistics.median(values) if values else math.nan


def machine() -> dict[str, Any]:
    """Describe this machine: CPUs, CPU model, memory, Python and SQLite versions, and the time."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
    }


def rss_kib(pid: int | str = "self") -> tuple[int, int]:
    """Return the current and peak resident set size (VmRSS, VmHWM) of a process, in KiB."""
    current = peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    return current, peak


async def run_python(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m <args>`` from the project root in a child process; return the JSON it prints last."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"python -m {' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"python -m {' '.join(args)} printed no result: {err.decode()[-2000:]}")
    return dict(json.loads(lines[-1]))


def fmt(value: float | None, unit: str = "") -> str:
    """Format a figure for a table: thousands separators, sensible decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer() or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.2f}"
    return f"{text} {unit}".strip()


def table(report: Report) -> str:
    """Render a report as a Markdown table."""
    lines = [
        "| figure | Vestry | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for m in report.measures:
        ratio = "—" if m.ratio is None else f"{fmt(m.ratio)}× {m.ratio_label}".strip()
        met = {True: "yes", False: "**no**", None: "—"}[m.met]
        note = f" ({m.note})" if m.note else ""
        lines.append(
            f"| {m.name}{note} | {fmt(m.vestry, m.unit)} | {fmt(m.baseline, m.unit)} | {ratio} | {m.target} | {met} |"
        )
    return "\n".join(lines)


def quiet_logging(level: int = logging.WARNING) -> None:
    """Keep the bot's logs out of the benchmark's output, except warnings and errors."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)
