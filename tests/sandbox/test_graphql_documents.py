"""Every GraphQL document Vestry sends, captured while it runs, is valid against GitHub's published schema
with deprecated fields treated as errors; and the emulator refuses what GitHub refuses, in GitHub's shape."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graphql import (
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    build_ast_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values

from bot.github import graphql as gq
from bot.sandbox.github.gql_schema import check
from tests.conftest import FIXTURES
from tests.e2e.test_kudos import wait_until_live
from tests.e2e.test_linking import wait_for_text

SCHEMA_FILE = FIXTURES / "github-graphql" / "schema.graphql"
REPO = "sandbox/project"
pytestmark = pytest.mark.skipif(
    not SCHEMA_FILE.is_file(), reason=f"GitHub's GraphQL schema is not at {SCHEMA_FILE} (../shared/fixtures)"
)


@pytest.fixture(scope="module")
def schema() -> Any:
    """GitHub's schema, built independently of the emulator's copy."""
    return build_ast_schema(parse(SCHEMA_FILE.read_text(), no_location=True), assume_valid=True, assume_valid_sdl=True)


async def exercise_every_query(sb: Any) -> list[tuple[str, dict[str, Any]]]:
    """Make the running bot send each kind of GraphQL query (and smaller-page variants); return what it sent."""
    await wait_until_live(sb)
    reviews = [{"by": f"reviewer{i}", "state": "APPROVED"} for i in range(101)]
    pulls = [{"number": 900 + i, "author": f"old{i}", "merged_at": "2022-01-01T10:00:00Z"} for i in range(30)]
    pulls[0]["reviews"] = reviews  # more reviews than fit in a page: BackfillReviews follows
    await sb.post("/github/history", {"repo": REPO, "pulls": pulls})
    issue = await sb.post("/github/issues", {"repo": REPO, "author": "old1", "title": "Crash"})
    await sb.post(f"/github/issues/{REPO}/{issue['number']}/close", {"by": "maintainer", "reason": "not_planned"})
    await sb.post("/github/stars", {"repo": REPO, "count": 3})
    await sb.post("/github/faults", {"status": "graphql-timeout", "max_nodes": 3000, "times": 2})
    result = await sb.command("owner", "vestry backfill")
    await wait_for_text(sb, result["interaction"], "Backfill finished", timeout=60)
    await sb.post("/github/stars", {"repo": REPO, "user": "late-stargazer"})
    await sb.clock(advance=5)
    await sb.run_job("github.poll")
    await sb.settle()
    await asyncio.sleep(0)
    return list(sb.sandbox.github.graphql.received)


async def test_every_document_the_bot_sends_is_valid_against_githubs_schema(sandbox: Any, schema: Any) -> None:
    sent = await exercise_every_query(sandbox)
    documents = {query for query, _ in sent}
    assert documents == set(gq.DOCUMENTS), "every document Vestry has is sent by some feature"
    sizes = {variables.get("first") for query, variables in sent if "BackfillPulls" in query}
    assert {100, 50} <= sizes, f"the smaller-page variants were exercised too: {sizes}"
    for query, variables in sent:
        document = parse(query)
        errors = validate(schema, document, [*specified_rules, NoDeprecatedCustomRule])
        assert errors == [], f"{query.split('(')[0].strip()}: {[e.message for e in errors]}"
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        assert not isinstance(coerced, list), f"variables {variables} do not fit: {coerced}"
        assert check(schema, query, variables, None).errors == []


def test_deprecated_unknown_and_oversized_queries_are_refused_as_github_does(schema: Any) -> None:
    deprecated = 'query { repository(owner: "a", name: "b") { pullRequest(number: 1) { databaseId } } }'
    (error,) = check(schema, deprecated, {}, None).errors
    assert error["extensions"]["code"] == "deprecatedField" and "fullDatabaseId" in error["message"]
    unknown = 'query { repository(owner: "a", name: "b") { pullRequest(number: 1) { nope } } }'
    assert check(schema, unknown, {}, None).errors[0]["extensions"]["code"] == "undefinedField"
    wrong_argument = 'query { repository(owner: "a", name: "b", colour: 1) { id } }'
    assert check(schema, wrong_argument, {}, None).errors[0]["extensions"]["code"] == "argumentNotAccepted"
    too_many = 'query { repository(owner: "a", name: "b") { issues(first: 101) { totalCount } } }'
    assert check(schema, too_many, {}, None).errors[0]["type"] == "EXCESSIVE_PAGINATION"
    unbounded = 'query { repository(owner: "a", name: "b") { issues { totalCount } } }'
    assert check(schema, unbounded, {}, None).errors[0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    huge = (
        'query { repository(owner: "a", name: "b") { issues(first: 100) { nodes { '
        "labels(first: 100) { nodes { issues(first: 100) { totalCount } } } } } } }"
    )
    assert check(schema, huge, {}, None).errors[0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    pages = check(schema, gq.BACKFILL_PULLS, gq.page_variables(REPO), None)
    assert pages.errors == [] and pages.nodes == 100 + 100 * 20 + 100 * 100
