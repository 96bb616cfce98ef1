"""GraphQL errors as GitHub sends them (HTTP 200 with ``errors``), told apart by type, through the real worker."""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.github import graphql as gq
from bot.github.backfill import Backfill
from bot.github.client import GitHubWorker
from bot.github.types import GraphQLFailed, NotFound, RateLimited
from bot.ledger import Ledger
from bot.sandbox.github_emulator import GitHubEmulator
from tests.github.conftest import REPO


async def test_the_worker_names_refused_queries_by_type_and_waits_out_rate_limited(
    worker: GitHubWorker, emulator: GitHubEmulator, clock: ManualClock
) -> None:
    with pytest.raises(GraphQLFailed) as refused:
        await worker.graphql("query Typo { viewr { login } }", {})
    assert refused.value.types == ["undefinedField"] and "viewr" in str(refused.value)
    with pytest.raises(NotFound):
        await worker.graphql(gq.BACKFILL_STARS, gq.page_variables("nobody/nothing"))
    emulator.add_fault("POST", "/graphql", "graphql-rate-limited", 1, retry_after=600)
    with pytest.raises(RateLimited) as limited:
        await worker.graphql(gq.BACKFILL_STARS, gq.page_variables(REPO))
    assert limited.value.resource == "graphql" and not limited.value.secondary
    assert 590 <= (limited.value.reset_at - clock.now()).total_seconds() <= 610
    assert set(worker.backoffs) == {"graphql"}
    with pytest.raises(RateLimited):  # held back without asking GitHub again
        await worker.graphql(gq.BACKFILL_STARS, gq.page_variables(REPO))
    assert await worker.get_json(f"/repos/{REPO}")  # REST is not held back
    clock.advance(601)
    data = await worker.graphql(gq.BACKFILL_STARS, gq.page_variables(REPO))
    assert gq.total_count(data, "stargazers") == 0
    assert worker.rate_limits["graphql"].remaining > 0


class _Refusing:
    """A worker stand-in answering with what GitHub sends for a query with a failed field."""

    requests_made = 0
    rate_limits: dict[str, Any] = {}

    def __init__(self, errors: list[dict[str, Any]], data: dict[str, Any] | None) -> None:
        self.errors, self.data = errors, data

    async def graphql(self, query: str, variables: Any) -> dict[str, Any]:
        if "BackfillPulls" in query:
            raise GraphQLFailed(self.errors, self.data)
        return {"repository": {"issues": _empty(), "stargazers": {**_empty(), "edges": []}}}


def _empty() -> dict[str, Any]:
    return {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}


def _page(labels: Any) -> dict[str, Any]:
    node = {
        "fullDatabaseId": "3000000001",
        "number": 1,
        "title": "A change",
        "url": "https://github.com/acme/widgets/pull/1",
        "createdAt": "2021-01-01T00:00:00Z",
        "mergedAt": "2021-01-02T00:00:00Z",
        "author": {"__typename": "User", "login": "alice", "databaseId": 11},
        "mergedBy": None,
        "labels": labels,
        "reviews": {"totalCount": 0, "nodes": []},
    }
    return {"repository": {"pullRequests": {**_empty(), "totalCount": 1, "nodes": [node]}}}


async def test_a_failed_label_field_keeps_the_page_and_other_errors_stop_and_show_in_status(
    db: Database, clock: ManualClock
) -> None:
    labels_failed = [{"message": "timeout", "path": ["repository", "pullRequests", "nodes", 0, "labels"]}]
    kept = Backfill(_Refusing(labels_failed, _page(None)), Ledger(db, clock), db, clock)  # type: ignore[arg-type]
    report = await kept.run(REPO)
    assert report.prs == 1 and await db.fetchval("SELECT labels FROM pull_requests") == "[]"

    author_failed = [{"type": "FORBIDDEN", "message": "no", "path": ["repository", "pullRequests", "nodes", 0]}]
    stopped = Backfill(_Refusing(author_failed, _page(None)), Ledger(db, clock), db, clock)  # type: ignore[arg-type]
    with pytest.raises(GraphQLFailed):
        await stopped.run("acme/other")
    assert "FORBIDDEN" in str(await db.get_state("backfill:error:acme/other"))


def test_nodes_without_an_id_are_left_out_or_kept_by_number_never_a_crash() -> None:
    page = _page({"nodes": [{"name": "docs"}]})
    node = page["repository"]["pullRequests"]["nodes"][0]
    node["fullDatabaseId"] = None
    node["reviews"] = {
        "totalCount": 2,
        "nodes": [
            {"fullDatabaseId": None, "state": "APPROVED", "submittedAt": "2021-01-02T00:00:00Z", "author": None},
            {"fullDatabaseId": str(2**40), "state": "APPROVED", "submittedAt": "2021-01-02T00:00:00Z", "author": None},
        ],
    }
    (pull,), _ = gq.parse_pull_page(page)
    assert pull.number == 1 and pull.id == 0 and pull.labels == ("docs",)
    assert [review.id for review in pull.reviews] == [2**40] and pull.reviews[0].author == gq.GHOST
