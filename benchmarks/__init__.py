"""Vestry's performance benchmarks: each measures Vestry and its baseline in the same run on the same machine.

Run ``python -m benchmarks [name ...]`` from the project root (all of them when no name is given); see
``benchmarks/RESULTS.md`` for what each one measures, the targets, and the figures recorded so far.
"""

BENCHMARKS = ("ingest", "api-economy", "queries", "latency", "replay", "memory", "hall-of-fame", "reconcile", "burst")
