"""Without GitHub's schema file the emulator still checks queries, against its small built-in schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.github import graphql as gq
from bot.sandbox.github import gql_schema


@pytest.fixture
def no_schema_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(gql_schema.SCHEMA_ENV, "/nonexistent/schema.graphql")
    gql_schema.github_schema.cache_clear()
    yield
    gql_schema.github_schema.cache_clear()


def test_the_built_in_schema_takes_every_query_and_refuses_deprecated_fields(
    no_schema_file: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    schema = gql_schema.github_schema()
    assert "schema was not found" in caplog.text
    for document in gq.DOCUMENTS:
        assert gql_schema.check(schema, document, gq.page_variables("a/b", number=1), None).errors == []
    old = 'query { repository(owner: "a", name: "b") { pullRequest(number: 1) { databaseId } } }'
    (error,) = gql_schema.check(schema, old, {}, None).errors
    assert error["extensions"]["code"] == "deprecatedField"
