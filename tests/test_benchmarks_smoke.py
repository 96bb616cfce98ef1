"""A tiny run of each benchmark: the harness works end to end and measures what it says (no timing asserts)."""

from __future__ import annotations

from typing import Any

from benchmarks import BENCHMARKS, api_economy, burst, ingest, latency, memory, queries, reconcile, replay
from benchmarks.__main__ import QUICK, module_name
from benchmarks.common import Report, percentile, table


def figure(report: Report, start: str) -> Any:
    return next(m for m in report.measures if m.name.startswith(start))


def test_every_benchmark_has_a_module_and_quick_sizes() -> None:
    assert set(QUICK) == set(BENCHMARKS)
    assert {module_name(name) for name in BENCHMARKS} >= {"benchmarks.api_economy", "benchmarks.ingest"}


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile(values, 100) == 100


async def test_ingest_acknowledges_and_processes_every_signed_delivery() -> None:
    opts = ingest.Options(count=40, concurrency=4, runs=1, rate=100.0, seconds=0.4)
    report = await ingest.run(opts)
    vestry = report.raw["vestry"][0]
    assert vestry["statuses"] == {"202": 40} and vestry["pull_requests"] == 8
    assert report.raw["bare"][0]["statuses"] == {"200": 40}
    assert figure(report, "ack rate").ratio is not None
    assert "| ack rate |" in table(report)


async def test_api_economy_counts_backfill_and_idle_poll_requests() -> None:
    opts = api_economy.Options(prs=150, baseline_prs=20, full_baseline=False, repos=2, repo_prs=10)
    report = await api_economy.run(opts)
    vestry, base = report.raw["vestry"], report.raw["baseline_slice"]
    assert vestry["merged_in_ledger"] == vestry["with_merger"] == 150 and vestry["reviews_in_ledger"] == 225
    assert vestry["requests"] == 4  # two pages of pull requests, one of issues, one of stars
    assert base["requests"] == 1 + 1 + 20 + 20 and base["merged"] == 20
    assert report.raw["idle_poll"]["rate_limit_used"] == 0 and report.raw["baseline_poll"]["rate_limit_used"] == 8


async def test_queries_time_every_command_on_both_databases() -> None:
    report = await queries.run(queries.Options(rows=4_000, members=200, samples=5, digest_runs=1, rounds=1))
    for name in ("profile", "rank", "leaderboard week", "leaderboard all time"):
        assert len(report.raw["vestry"][name]) == len(report.raw["baseline"][name]) == 5
    assert report.params["ledger_rows"] == 4_000
    assert figure(report, "digest").baseline is not None


async def test_latency_sees_one_kudos_post_per_merge() -> None:
    report = await latency.run(latency.Options(merges=4))
    assert len(report.raw["latencies_ms"]) == 4
    assert "each naming its author" in report.notes[0]


async def test_replay_celebrates_each_first_pr_author_once() -> None:
    report = await replay.run(replay.Options(limit=25))
    celebrated = figure(report, "first-PR authors")
    assert celebrated.met is True and celebrated.vestry == report.params["authors"]


async def test_memory_reads_the_bot_processes_peak() -> None:
    opts = memory.Options(rows=2_000, members=60, guild=60, commands=2, merges=2, intents=(False,))
    report = await memory.run(opts)
    (run,) = report.raw["runs"]
    assert run["exit_code"] == 0 and run["commands_answered"] == 3 and run["reconcile"]["ok"] is True
    assert run["peak_mib"] >= run["ready_rss_mib"] > 10
    # The digest chart was drawn in a worker (no matplotlib or numpy in the bot); in token mode PyJWT, and with it
    # cryptography, never ran; the hall of fame's pages are off (no Jinja2).
    assert run["loaded"] == []


async def test_reconcile_counts_gateway_requests_and_repairs_exactly_the_drift() -> None:
    report = await reconcile.run(reconcile.Options(rows=2_000, members=250, drift=0.04, baseline_members=20))
    steady, drift = report.raw["steady"], report.raw["drift"]
    assert (steady["op8"], steady["rest_gets"], steady["role_rows"], steady["checked"]) == (3, 0, 0, 250)
    assert (drift["op8"], drift["rest_gets"], drift["role_rows"]) == (3, 0, drift["expected"])
    assert 8 <= drift["expected"] <= 10  # the drifted members not linked to a bot account
    assert drift["repaired_exactly_the_drifted"] is True
    assert report.raw["baseline"]["rest_gets"] == 20


async def test_burst_names_every_newcomer_once_and_times_the_digest_and_role() -> None:
    report = await burst.run(burst.Options(merges=12, seconds=2.0, timeout=120))
    last = figure(report, "first merge → last kudos post")
    assert last.vestry is not None and last.baseline is not None and "named more than once: 0" in last.note
    vestry, baseline = report.raw["vestry"], report.raw["baseline"]
    assert vestry["midway"]["digest_delay"] is not None and vestry["midway"]["role_delay"] is not None
    assert baseline["posts"] >= 12 > vestry["posts"]  # the old way: a post per newcomer; now some are combined


async def test_hall_of_fame_times_page_requests_and_the_baseline_page_data() -> None:
    from benchmarks import hall_of_fame

    report = await hall_of_fame.run(hall_of_fame.Options(rows=3_000, members=150, samples=30, baseline_samples=2))
    assert len(report.raw["vestry"]) == 30 and len(report.raw["baseline"]) == 2
    assert report.params["contributors"] > 0 and report.raw["statuses"].get(200, 0) > 0
    assert set(report.raw["statuses"]) <= {200, 404}, "every drawn request is one the page answers"
    assert figure(report, "page request p99").baseline is not None
