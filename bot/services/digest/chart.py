"""Draw the digest's chart as a PNG, headless, readable on Discord's dark and light themes.

The bot draws it in a short-lived worker process (``render_chart_in_worker`` runs ``python -m
bot.services.digest.chart``), so matplotlib and numpy — about 50 MiB that would otherwise stay for the life of
the process — are never imported by the bot itself. The worker reads the series as JSON on stdin and writes the
PNG on stdout; it draws with the same ``render_chart``, so the picture is the same byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.digest.model import ChartSeries

# Transparent background; text and colours chosen to keep contrast on both white and Discord's dark grey.
TEXT = "#8A8F98"
GRID = "#8A8F98"
MERGED = "#5865F2"
NEWCOMERS = "#E67E22"
STARS = "#E91E63"
# Matplotlib keeps some global state (font cache, rc parameters): draw one chart at a time.
_LOCK = threading.Lock()
WORKER_TIMEOUT = 120.0  # the first run builds matplotlib's font cache, which can take a while on a small machine


class ChartError(Exception):
    """The chart worker failed; the digest is posted without its picture."""


async def render_chart_in_worker(
    series: ChartSeries, zone: str, unit: str = "week", timeout: float = WORKER_TIMEOUT
) -> bytes:
    """Draw the chart in a fresh Python process that exits afterwards; return its PNG."""
    request = json.dumps({"series": series_to_json(series), "zone": zone, "unit": unit}).encode()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.services.digest.chart",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        png, errors = await asyncio.wait_for(process.communicate(request), timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0 or not png.startswith(b"\x89PNG"):
        tail = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no error output"]
        raise ChartError(f"the chart worker exited with code {process.returncode}: {tail[0]}")
    return png


def series_to_json(series: ChartSeries) -> dict[str, Any]:
    """Write a series as JSON-ready data (times as ISO 8601)."""
    return {
        "ends": [end.isoformat() for end in series.ends],
        "merged": list(series.merged),
        "newcomers": list(series.newcomers),
        "stars": list(series.stars),
    }


def series_from_json(data: dict[str, Any]) -> ChartSeries:
    """Read a series written by ``series_to_json``."""
    return ChartSeries(
        [datetime.fromisoformat(end) for end in data["ends"]],
        [int(n) for n in data["merged"]],
        [int(n) for n in data["newcomers"]],
        [int(n) for n in data["stars"]],
    )


def render_chart(series: ChartSeries, zone: str, unit: str = "week") -> bytes:
    """Return a PNG of merged PRs and new contributors per period, and cumulative stars."""
    # Figure with the Agg canvas needs no pyplot and no display backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [_label(end, zone) for end in series.ends]
    positions = list(range(len(labels)))
    width = 0.38
    with _LOCK:
        figure = Figure(figsize=(8, 4.5), dpi=110)
        FigureCanvasAgg(figure)
        figure.patch.set_alpha(0)
        bars, stars = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.12})
        bars.bar([p - width / 2 for p in positions], series.merged, width, color=MERGED, label="Merged PRs")
        bars.bar([p + width / 2 for p in positions], series.newcomers, width, color=NEWCOMERS, label="New contributors")
        bars.set_title(f"The last {len(labels)} {unit}s", color=TEXT, fontsize=12, loc="left", fontweight="bold")
        bars.yaxis.get_major_locator().set_params(integer=True)
        bars.legend(loc="upper left", frameon=False, labelcolor=TEXT, fontsize=9, ncols=2)
        top = max([*series.merged, *series.newcomers, 1])
        bars.set_ylim(0, top * 1.35)
        stars.plot(positions, series.stars, color=STARS, linewidth=2.2, marker="o", markersize=4, label="Stars (total)")
        stars.fill_between(positions, series.stars, min(series.stars, default=0), color=STARS, alpha=0.15)
        stars.yaxis.get_major_locator().set_params(integer=True)
        stars.legend(loc="upper left", frameon=False, labelcolor=TEXT, fontsize=9)
        stars.set_xticks(positions, labels, rotation=0, fontsize=8)
        stars.set_xlabel(f"{unit.capitalize()} ending", color=TEXT, fontsize=8)
        for axes in (bars, stars):
            _style(axes)
        output = io.BytesIO()
        figure.savefig(output, format="png", transparent=True, bbox_inches="tight", pad_inches=0.15)
    return output.getvalue()


def _style(axes: object) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    axes.set_facecolor("none")
    axes.tick_params(colors=TEXT, labelcolor=TEXT, labelsize=8)
    axes.grid(axis="y", color=GRID, alpha=0.3, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(TEXT)
        axes.spines[side].set_alpha(0.6)


def _label(end: datetime, zone: str) -> str:
    local = end.astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%b}"


def main() -> None:
    """Worker entry point: read one request on stdin, write the PNG on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    png = render_chart(series_from_json(request["series"]), request["zone"], request["unit"])
    sys.stdout.buffer.write(png)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
