"""Draw the digest's chart as a PNG, headless, readable on Discord's dark and light themes."""

from __future__ import annotations

import io
import threading
from datetime import datetime
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
