"""GitHub's GraphQL schema for the emulator, and the checks GitHub runs on a query before executing it.

The schema is GitHub's public one (``fixtures/github-graphql/schema.graphql`` beside the project, or the file
named by ``VESTRY_GITHUB_SCHEMA``). Without it the emulator falls back to a small built-in schema covering
what Vestry asks for, and says so in the log once. Every query is validated like GitHub does: unknown fields,
wrong arguments and deprecated fields are refused (HTTP 200 with ``errors``), ``first``/``last`` must be 1–100,
every connection needs one of them, and a query may touch at most 500,000 nodes.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    build_ast_schema,
    get_named_type,
    is_composite_type,
    parse,
    specified_rules,
    validate,
)

log = logging.getLogger(__name__)

MAX_NODES = 500_000
MAX_PAGE = 100
SCHEMA_ENV = "VESTRY_GITHUB_SCHEMA"
_FIXTURE = Path("..") / "shared" / "fixtures" / "github-graphql" / "schema.graphql"
_CODES = (
    ("Cannot query field", "undefinedField"),
    ("Unknown argument", "argumentNotAccepted"),
    ("is deprecated", "deprecatedField"),
    ("Unknown type", "undefinedType"),
    ("Unknown fragment", "undefinedFragment"),
    ("Variable", "variableMismatch"),
    ("of required type", "missingRequiredArguments"),
    ("cannot represent", "argumentLiteralsIncompatible"),
    ("Expected value of type", "argumentLiteralsIncompatible"),
    ("Syntax Error", "parseError"),
)
FALLBACK_SDL = """
scalar DateTime
scalar BigInt
scalar URI
interface Node { id: ID! }
interface Actor { login: String! url: URI! }
type User implements Actor & Node { id: ID! login: String! url: URI! databaseId: Int }
type Bot implements Actor & Node { id: ID! login: String! url: URI! databaseId: Int }
type Organization implements Actor & Node { id: ID! login: String! url: URI! databaseId: Int }
type Mannequin implements Actor & Node { id: ID! login: String! url: URI! databaseId: Int }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! endCursor: String startCursor: String }
type Label { name: String! }
type LabelConnection { nodes: [Label] totalCount: Int! pageInfo: PageInfo! }
enum PullRequestReviewState { PENDING COMMENTED APPROVED CHANGES_REQUESTED DISMISSED }
type PullRequestReview {
  databaseId: Int @deprecated(reason: "`databaseId` will be removed. Use `fullDatabaseId` instead.")
  fullDatabaseId: BigInt state: PullRequestReviewState! submittedAt: DateTime author: Actor
}
type PullRequestReviewConnection { nodes: [PullRequestReview] totalCount: Int! pageInfo: PageInfo! }
enum PullRequestState { OPEN CLOSED MERGED }
enum IssueState { OPEN CLOSED }
enum IssueStateReason { COMPLETED NOT_PLANNED REOPENED DUPLICATE }
enum OrderDirection { ASC DESC }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
enum StarOrderField { STARRED_AT }
input IssueOrder { field: IssueOrderField! direction: OrderDirection! }
input StarOrder { field: StarOrderField! direction: OrderDirection! }
type PullRequest {
  databaseId: Int @deprecated(reason: "`databaseId` will be removed. Use `fullDatabaseId` instead.")
  fullDatabaseId: BigInt number: Int! title: String! url: URI! createdAt: DateTime! updatedAt: DateTime!
  mergedAt: DateTime author: Actor mergedBy: Actor
  labels(first: Int, after: String, last: Int, before: String): LabelConnection
  reviews(first: Int, after: String, last: Int, before: String): PullRequestReviewConnection
}
type PullRequestConnection { nodes: [PullRequest] totalCount: Int! pageInfo: PageInfo! }
type ClosedEvent { actor: Actor }
union IssueTimelineItems = ClosedEvent
enum IssueTimelineItemsItemType { CLOSED_EVENT }
type IssueTimelineItemsConnection { nodes: [IssueTimelineItems] totalCount: Int! pageInfo: PageInfo! }
type Issue {
  databaseId: Int fullDatabaseId: BigInt number: Int! title: String! url: URI! createdAt: DateTime!
  updatedAt: DateTime! closedAt: DateTime stateReason: IssueStateReason author: Actor
  labels(first: Int, after: String, last: Int, before: String): LabelConnection
  timelineItems(itemTypes: [IssueTimelineItemsItemType!], first: Int, after: String, last: Int, before: String):
    IssueTimelineItemsConnection!
}
type IssueConnection { nodes: [Issue] totalCount: Int! pageInfo: PageInfo! }
type StargazerEdge { cursor: String! node: User! starredAt: DateTime! }
type StargazerConnection { edges: [StargazerEdge] nodes: [User] totalCount: Int! pageInfo: PageInfo! }
type Repository {
  id: ID! databaseId: Int name: String! nameWithOwner: String! owner: Actor!
  pullRequest(number: Int!): PullRequest
  pullRequests(states: [PullRequestState!], first: Int, after: String, last: Int, before: String,
    orderBy: IssueOrder): PullRequestConnection!
  issues(states: [IssueState!], first: Int, after: String, last: Int, before: String,
    orderBy: IssueOrder): IssueConnection!
  stargazers(first: Int, after: String, last: Int, before: String, orderBy: StarOrder): StargazerConnection!
}
type RateLimit { cost: Int! limit: Int! nodeCount: Int! remaining: Int! resetAt: DateTime! used: Int! }
type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
}
"""


def schema_path() -> Path | None:
    """Return the schema file to use: ``$VESTRY_GITHUB_SCHEMA``, else the shared fixture beside the project."""
    named = os.environ.get(SCHEMA_ENV)
    if named:
        return Path(named)
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidate = root / _FIXTURE
        if candidate.is_file():
            return candidate.resolve()
    return None


@cache
def github_schema() -> GraphQLSchema:
    """Build (once per process) GitHub's schema, or the built-in fallback when the file is absent."""
    path = schema_path()
    if path is None or not path.is_file():
        log.warning(
            "GitHub's GraphQL schema was not found (set %s or keep ../shared/fixtures beside the project); "
            "the GitHub emulator validates queries against its small built-in schema instead",
            SCHEMA_ENV,
        )
        return build_ast_schema(parse(FALLBACK_SDL, no_location=True))
    document = parse(path.read_text(encoding="utf-8"), no_location=True)
    # GitHub's published SDL repeats two fields of one type; GitHub itself accepts it, so do not re-check it.
    return build_ast_schema(document, assume_valid=True, assume_valid_sdl=True)


def github_error(message: str, type: str | None = None, **extra: Any) -> dict[str, Any]:
    """Return one entry of ``errors`` in GitHub's shape."""
    error: dict[str, Any] = {"message": message}
    if type is not None:
        error["type"] = type
    error.update(extra)
    return error


def _validation_error(error: GraphQLError) -> dict[str, Any]:
    code = next((code for prefix, code in _CODES if prefix in error.message), "validationError")
    locations = [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]
    return github_error(error.message, extensions={"code": code}, locations=locations)


@dataclass
class Checked:
    """A query that passed GitHub's checks, with its size (``nodes``) and point ``cost``."""

    document: DocumentNode
    nodes: int = 0
    requests: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cost(self) -> int:
        """GitHub's point cost: connection requests / 100, at least 1."""
        return max(1, math.ceil(self.requests / 100))


def check(schema: GraphQLSchema, query: str, variables: dict[str, Any], operation: str | None) -> Checked:
    """Parse and validate ``query``; ``errors`` is filled when GitHub would refuse it."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return Checked(DocumentNode(definitions=()), errors=[_validation_error(exc)])
    found = validate(schema, document, [*specified_rules, NoDeprecatedCustomRule])
    checked = Checked(document, errors=[_validation_error(error) for error in found])
    if checked.errors:
        return checked
    _Sizer(schema, document, variables, checked).run(operation)
    if not checked.errors and checked.nodes > MAX_NODES:
        message = (
            f"By the time this query traverses to the deepest connection, it is requesting up to "
            f"{checked.nodes:,} possible nodes which exceeds the maximum limit of {MAX_NODES:,}."
        )
        checked.errors.append(github_error(message, "MAX_NODE_LIMIT_EXCEEDED"))
    return checked


class _Sizer:
    """Walk an operation, checking page sizes and adding up nodes and connection requests like GitHub."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], out: Checked):
        self.schema = schema
        self.variables = variables
        self.out = out
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def run(self, operation: str | None) -> None:
        """Size the chosen operation (the named one, else the only one)."""
        for op in self.operations:
            if operation is None or (op.name is not None and op.name.value == operation):
                root = self.schema.get_root_type(op.operation)
                if root is not None:
                    self._walk(root, op.selection_set, 1, [op.name.value if op.name else "query"])
                return

    def _arg(self, node: FieldNode, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    given = self.variables.get(value.name.value)
                    return int(given) if isinstance(given, int) else None
        return None

    def _walk(self, parent: Any, selections: SelectionSetNode | None, multiplier: int, path: list[str]) -> None:
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                self._field(parent, selection, multiplier, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self._walk(target, selection.selection_set, multiplier, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    self._walk(target, fragment.selection_set, multiplier, path)

    def _field(self, parent: Any, node: FieldNode, multiplier: int, path: list[str]) -> None:
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(node.name.value)
        if definition is None:
            return
        target = get_named_type(definition.type)
        here = [*path, node.alias.value if node.alias else node.name.value]
        if target.name.endswith("Connection") and "first" in definition.args:
            first, last = self._arg(node, "first"), self._arg(node, "last")
            size = first if first is not None else last
            if size is None:
                message = (
                    f"You must provide a `first` or `last` value to properly paginate the `{node.name.value}` "
                    "connection."
                )
                self.out.errors.append(github_error(message, "MISSING_PAGINATION_BOUNDARIES", path=here))
                return
            if not 1 <= size <= MAX_PAGE:
                which = "first" if first is not None else "last"
                message = (
                    f"Requesting {size} records on the `{node.name.value}` connection exceeds the `{which}` limit "
                    f"of {MAX_PAGE} records."
                )
                self.out.errors.append(github_error(message, "EXCESSIVE_PAGINATION", path=here))
                return
            self.out.requests += multiplier
            multiplier *= size
            self.out.nodes += multiplier
        if is_composite_type(target):
            self._walk(target, node.selection_set, multiplier, here)
