"""The digest chart drawn in a worker process: the same PNG, and matplotlib never loaded by the bot."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.digest.chart import ChartError, render_chart, render_chart_in_worker
from bot.services.digest.model import ChartSeries

END = datetime(2030, 1, 7, tzinfo=UTC)
SERIES = ChartSeries([END - timedelta(weeks=3 - i) for i in range(4)], [3, 0, 5, 2], [1, 0, 2, 1], [10, 12, 12, 19])


async def test_worker_draws_the_same_png_as_drawing_in_process() -> None:
    png = await render_chart_in_worker(SERIES, "Europe/Berlin", "week")
    assert png.startswith(b"\x89PNG") and png == render_chart(SERIES, "Europe/Berlin", "week")


async def test_a_failing_worker_raises_a_chart_error_naming_the_cause() -> None:
    with pytest.raises(ChartError, match=r"ZoneInfoNotFoundError|No time zone"):
        await render_chart_in_worker(SERIES, "Nowhere/Atlantis", "week")


def test_the_calling_process_never_imports_matplotlib_or_numpy() -> None:
    script = (
        "import asyncio, sys\n"
        "from tests.services.test_chart_worker import SERIES\n"
        "from bot.services.digest.chart import render_chart_in_worker\n"
        "png = asyncio.run(render_chart_in_worker(SERIES, 'UTC'))\n"
        "loaded = sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules)\n"
        "print(len(png) > 1000, loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.strip() == "True []", result.stderr
