"""``python -m benchmarks [name ...] [--quick] [--runs N] [--json FILE]``: run benchmarks and print their tables."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import BENCHMARKS
from benchmarks.common import Report, machine, quiet_logging, table

QUICK: dict[str, dict[str, Any]] = {
    "ingest": {"count": 2_000, "runs": 1, "seconds": 5.0},
    "api-economy": {"prs": 2_000, "baseline_prs": 200, "full_baseline": False},
    "queries": {"rows": 100_000, "members": 5_000, "samples": 50, "board_samples": 20},
    "latency": {"merges": 100},
    "replay": {"limit": 300},
    "memory": {"rows": 100_000, "members": 5_000, "guild": 5_000, "commands": 8, "merges": 10},
    "hall-of-fame": {"rows": 100_000, "members": 5_000, "samples": 100, "baseline_samples": 3},
    "reconcile": {"rows": 20_000, "members": 5_000, "baseline_members": 500},
    "burst": {"merges": 100, "seconds": 12.0},
}


def module_name(name: str) -> str:
    """Map a benchmark name to its module (``api-economy`` → ``benchmarks.api_economy``)."""
    return "benchmarks." + name.replace("-", "_")


async def run_one(name: str, overrides: dict[str, Any]) -> Report:
    """Run one benchmark with its default sizes, changed by ``overrides``."""
    module = importlib.import_module(module_name(name))
    options = module.Options(**overrides)
    started = time.monotonic()
    report: Report = await module.run(options)
    report.seconds = time.monotonic() - started
    return report


def parse_value(text: str) -> Any:
    """Read an option value: JSON when it is JSON (numbers, true, lists), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def overrides_for(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Collect the option changes that apply to one benchmark."""
    fields = module_fields(name)
    overrides = dict(QUICK[name]) if args.quick else {}
    if args.runs is not None and "runs" in fields:
        overrides["runs"] = args.runs
    for item in args.set:
        key, _, value = item.partition("=")
        if key in fields:
            overrides[key] = parse_value(value)
    return overrides


def print_report(name: str, report: Report) -> None:
    """Print one report as Markdown."""
    print(f"## {name} ({report.seconds:.0f} s)\n")
    print(f"params: {json.dumps(report.params)}\n")
    print(table(report) + "\n")
    for note in report.notes:
        print(f"- {note}")
    print(flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the benchmarks, print Markdown tables (and JSON when asked)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a fast look (not for RESULTS.md)")
    parser.add_argument("--runs", type=int, help="repetitions, where a benchmark repeats (medians are reported)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change an option")
    parser.add_argument("--json", type=Path, help="also write every report as JSON to this file")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    quiet_logging()
    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    info = machine()
    print(f"# {command.strip()}\n")
    print(
        f"{info['date']} · {info['nproc']} CPUs ({info['cpu']}) · {info['ram_gib']} GiB RAM · "
        f"Python {info['python']} · SQLite {info['sqlite']} · Linux {info['kernel']}\n"
    )
    reports = []
    for name in args.names or BENCHMARKS:
        report = asyncio.run(run_one(name, overrides_for(name, args)))
        reports.append(report)
        print_report(name, report)
    if args.json:
        data = {"machine": info, "command": command, "reports": [r.to_json() for r in reports]}
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


def module_fields(name: str) -> set[str]:
    """Return the option names a benchmark accepts."""
    module = importlib.import_module(module_name(name))
    return set(module.Options.__dataclass_fields__)


if __name__ == "__main__":
    raise SystemExit(main())
