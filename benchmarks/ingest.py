"""ingest: signed webhook deliveries a second, acknowledged and fully processed, against a bare aiohttp handler.

Three measurements, each run ``runs`` times (medians reported), bare and Vestry alternating:

1. **ack rate**: the load generator (another process) sends ``count`` deliveries over ``concurrency`` keep-alive
   loopback connections as fast as they are answered, to a bare aiohttp handler (reads the body, returns 200)
   and to the sandboxed bot's webhook receiver (verifies, stores durably, acknowledges).
2. **processing rate**: for the same Vestry run, deliveries divided by the time from the first send until every
   delivery has its ``webhook_deliveries`` row, written when it is recorded in the ledger (read from the database
   itself), and the spool holds none.
3. **sustained**: the generator offers ``rate`` deliveries a second (open loop) for ``seconds``; the backlog
   (received, not processed) is sampled every 0.25 s. No growth means the backlog stays small while sending
   and is gone within a second of the last delivery.
"""

from __future__ import annotations

import asyncio
import json
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from benchmarks.common import Measure, Report, median, ratio_of, run_python
from benchmarks.payloads import LIFE, MERGES, write_templates
from bot.sandbox.client import running_sandbox as sandbox
from bot.sandbox.runner import WEBHOOK_SECRET


@dataclass
class Options:
    """Sizes of one ingest run."""

    count: int = 10_000
    concurrency: int = 32
    runs: int = 5
    rate: float = 1_000.0
    seconds: float = 15.0
    authors: int = 1_000
    mix: str = "life"  # "life": opened, labeled, two pushes, merged; "merges": every other delivery a merge


async def _generate(url: str, templates: list[str], count: int, opts: Options, **extra: Any) -> dict[str, Any]:
    config = {
        "url": url,
        "secret": WEBHOOK_SECRET,
        "templates": templates,
        "count": count,
        "concurrency": opts.concurrency,
        "authors": opts.authors,
        **extra,
    }
    return await run_python("benchmarks.loadgen", json.dumps(config), timeout=900)


async def bare_run(templates: list[str], opts: Options) -> dict[str, Any]:
    """Serve the bare handler in this process and return the generator's summary."""

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application(client_max_size=26 * 1024 * 1024)
    app.router.add_post("/github/webhook", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        cpu = cpu_seconds()
        result = await _generate(f"http://127.0.0.1:{port}/github/webhook", templates, opts.count, opts)
        return {**result, "server_cpu_ms": (cpu_seconds() - cpu) * 1000 / opts.count}
    finally:
        await runner.cleanup()


async def _unprocessed(db: Any) -> tuple[int, int]:
    row = await db.fetchone("SELECT COUNT(*), SUM(processed_at IS NULL) FROM webhook_deliveries")
    return int(row[0] or 0), int(row[1] or 0)


async def _wait_processed(services: Any, expected: int, timeout: float) -> float:
    """Wait until ``expected`` deliveries are stored and processed; return the wall time it happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if services.webhooks.pending() == 0:
            total, pending = await _unprocessed(services.db)
            if total >= expected and pending == 0:
                return time.time()
        await asyncio.sleep(0.01)
    raise TimeoutError(f"deliveries not processed within {timeout} s: {await _unprocessed(services.db)}")


async def _wait_events(services: Any, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await services.bus.pending() == 0:
            return time.time()
        services.bus.notify()
        await asyncio.sleep(0.02)
    raise TimeoutError("events not handled in time")


async def vestry_run(templates: list[str], opts: Options) -> dict[str, Any]:
    """Send the same load to the sandboxed bot; return acks, processing and event-handling times."""
    async with sandbox() as client:
        services = client.sandbox.services
        url = client.sandbox.ready_info["webhook"]
        cpu = cpu_seconds()
        gen = await _generate(url, templates, opts.count, opts)
        done = await _wait_processed(services, opts.count, timeout=600)
        events_done = await _wait_events(services, timeout=600)
        await client.sandbox.settle()
        cpu = (cpu_seconds() - cpu) * 1000 / opts.count
        rows = await services.db.fetchval("SELECT COUNT(*) FROM pull_requests", default=0)
        return {
            **gen,
            "processed_at": done,
            "processing_rate": opts.count / (done - gen["first_send"]),
            "events_rate": opts.count / (events_done - gen["first_send"]),
            "pull_requests": int(rows),
            "server_cpu_ms": cpu,
        }


async def sustained_run(templates: list[str], opts: Options) -> dict[str, Any]:
    """Offer ``opts.rate`` deliveries a second for ``opts.seconds``; sample the backlog while it runs."""
    count = int(opts.rate * opts.seconds)
    async with sandbox() as client:
        services = client.sandbox.services
        url = client.sandbox.ready_info["webhook"]
        samples: list[tuple[float, int]] = []
        task = asyncio.create_task(_generate(url, templates, count, opts, rate=opts.rate))
        while not task.done():
            samples.append((time.time(), services.webhooks.pending()))
            await asyncio.sleep(0.25)
        gen = task.result()
        done = await _wait_processed(services, count, timeout=600)
        window = [(t, n) for t, n in samples if gen["first_send"] <= t <= gen["last_ack"]]
        return {
            **gen,
            "drain_after_last_ack": max(0.0, done - gen["last_ack"]),
            "backlog_max": max((n for _, n in window), default=0),
            "backlog_end": window[-1][1] if window else 0,
            "backlog_slope": _slope(window),
            "processing_rate": count / (done - gen["first_send"]),
        }


def cpu_seconds() -> float:
    """Return the CPU time this process (the server) has used, all threads, the generator excluded."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares growth of the backlog, in deliveries a second."""
    if len(points) < 2:
        return 0.0
    t0 = points[0][0]
    xs = [t - t0 for t, _ in points]
    ys = [float(n) for _, n in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


async def run(opts: Options | None = None) -> Report:
    """Run the ingest benchmark."""
    opts = opts or Options()
    report = Report("ingest", params=opts.__dict__.copy())
    with tempfile.TemporaryDirectory(prefix="vestry-bench-ingest-") as folder:
        actions = {"life": LIFE, "merges": MERGES}[opts.mix]
        templates, size = await write_templates(Path(folder), actions)
        report.params["body_bytes"] = size
        bare, vestry = [], []
        for _ in range(opts.runs):
            bare.append(await bare_run(templates, opts))
            vestry.append(await vestry_run(templates, opts))
        sustained = await sustained_run(templates, opts)
    report.raw = {"bare": bare, "vestry": vestry, "sustained": sustained}
    _measures(report, opts, bare, vestry, sustained)
    return report


def _measures(
    report: Report, opts: Options, bare: list[dict[str, Any]], vestry: list[dict[str, Any]], sustained: dict[str, Any]
) -> None:
    bare_ack = median([r["ack_rate"] for r in bare])
    vestry_ack = median([r["ack_rate"] for r in vestry])
    ack_ratio = ratio_of(vestry_ack, bare_ack)
    report.add(
        Measure(
            "ack rate",
            "deliveries/s",
            vestry_ack,
            bare_ack,
            target="≥ 50% of bare",
            met=ack_ratio is not None and ack_ratio >= 0.5,
            ratio=ack_ratio,
            ratio_label="of bare",
        )
    )
    report.add(
        Measure(
            "ack latency p99",
            "ms",
            median([r["latency_ms"]["p99"] for r in vestry]),
            median([r["latency_ms"]["p99"] for r in bare]),
            note=f"{opts.concurrency} connections",
        )
    )
    report.add(
        Measure(
            "server CPU per delivery",
            "ms",
            median([r["server_cpu_ms"] for r in vestry]),
            median([r["server_cpu_ms"] for r in bare]),
            ratio=ratio_of(median([r["server_cpu_ms"] for r in vestry]), median([r["server_cpu_ms"] for r in bare])),
            ratio_label="of bare",
            note="Vestry: acknowledged, processed, events handled, kudos posted (the emulated Discord included)",
        )
    )
    processing = median([r["processing_rate"] for r in vestry])
    report.add(
        Measure("processing rate (closed loop)", "deliveries/s", processing, target="≥ 1,000/s", met=processing >= 1000)
    )
    report.add(Measure("events handled by every consumer", "deliveries/s", median([r["events_rate"] for r in vestry])))
    steady = (
        sustained["backlog_end"] <= max(100, opts.rate * 0.1)
        and sustained["drain_after_last_ack"] <= 1.0
        and sustained["ack_rate"] >= 0.95 * opts.rate
    )
    report.add(
        Measure(
            f"sustained at {opts.rate:,.0f}/s: backlog slope",
            "deliveries/s",
            sustained["backlog_slope"],
            target="no growth",
            met=steady,
            note=(
                f"offered {opts.rate:,.0f}/s for {opts.seconds:.0f} s, acked {sustained['ack_rate']:,.0f}/s, "
                f"backlog max {sustained['backlog_max']}, at end {sustained['backlog_end']}, "
                f"drained {sustained['drain_after_last_ack']:.2f} s after the last ack"
            ),
        )
    )
    for row in vestry:
        statuses = row["statuses"]
        if set(statuses) - {"202"}:
            report.notes.append(f"Vestry answered statuses {statuses}")
