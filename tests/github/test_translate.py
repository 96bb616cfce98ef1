"""Pure translation: REST and GraphQL shapes to ledger facts, and the poll cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.github import graphql as gq
from bot.github.facts import (
    graphql_issue_fact,
    graphql_pull_facts,
    graphql_star_fact,
    ledger_actor,
    request_facts,
    review_facts,
    star_fact,
)
from bot.github.poller import Cursor, github_time
from bot.github.types import user_from_json
from bot.ledger import ReviewFact

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ALICE = {"login": "alice", "id": 11, "type": "User"}
BOB = {"login": "bob", "id": 12, "type": "User"}


def _at(seconds: int) -> str:
    return github_time(T0 + timedelta(seconds=seconds))


def test_review_facts_skip_pending_reviews_and_upper_case_the_state() -> None:
    reviews = [
        {"id": 1, "user": ALICE, "state": "approved", "submitted_at": _at(5)},
        {"id": 2, "user": BOB, "state": "PENDING", "submitted_at": None},
    ]

    [fact] = review_facts("o/r", 3, reviews)

    assert (fact.id, fact.number, fact.state, fact.submitted_at) == (1, 3, "APPROVED", T0 + timedelta(seconds=5))
    assert fact.reviewer is not None and fact.reviewer.id == 11


def test_request_facts_keep_the_latest_event_per_reviewer() -> None:
    timeline = [
        {"event": "review_requested", "created_at": _at(1), "requested_reviewer": ALICE},
        {"event": "review_requested", "created_at": _at(2), "requested_team": {"slug": "core", "name": "Core"}},
        {"event": "review_request_removed", "created_at": _at(3), "requested_reviewer": ALICE},
        {"event": "labeled", "created_at": _at(4)},
        {"event": "review_requested", "created_at": _at(5), "requested_reviewer": BOB},
    ]

    facts = request_facts("o/r", {"number": 7}, timeline)

    summary = {(f.kind, f.reviewer): (f.removed, f.at) for f in facts}
    assert summary == {
        ("user", "11"): (True, T0 + timedelta(seconds=3)),
        ("team", "core"): (False, T0 + timedelta(seconds=2)),
        ("user", "12"): (False, T0 + timedelta(seconds=5)),
    }


def test_request_facts_name_who_asked() -> None:
    robot = {"login": "assign-bot[bot]", "id": 99, "type": "Bot"}
    timeline = [{"event": "review_requested", "created_at": _at(1), "requested_reviewer": BOB, "actor": robot}]

    [fact] = request_facts("o/r", {"number": 7}, timeline)

    assert fact.requester is not None and (fact.requester.login, fact.requester.is_bot) == ("assign-bot[bot]", True)


def test_request_answered_by_a_later_review_is_not_reopened() -> None:
    timeline = [{"event": "review_requested", "created_at": _at(1), "requested_reviewer": BOB}]
    answered = [
        ReviewFact(9, "o/r", 7, ledger_actor(gq.Actor(12, "bob", False)), "APPROVED", T0 + timedelta(seconds=9))
    ]

    assert request_facts("o/r", {"number": 7}, timeline, answered) == []


def test_request_facts_fall_back_to_requested_reviewers_without_a_timeline() -> None:
    pr = {"number": 7, "updated_at": _at(8), "requested_reviewers": [ALICE], "requested_teams": [{"slug": "docs"}]}

    facts = request_facts("o/r", pr, None)

    assert [(f.kind, f.reviewer, f.at) for f in facts] == [
        ("user", "11", T0 + timedelta(seconds=8)),
        ("team", "docs", T0 + timedelta(seconds=8)),
    ]


def test_star_fact_reads_the_star_media_type() -> None:
    fact = star_fact("o/r", {"starred_at": _at(0), "user": ALICE})
    assert fact is not None and fact.user.login == "alice" and fact.starred_at == T0
    assert star_fact("o/r", {"starred_at": _at(0), "user": None}) is None


def test_cursor_reads_an_unsettled_second_again_and_a_settled_one_never() -> None:
    cursor = Cursor(T0)
    assert cursor.reaches(T0) and cursor.reaches(T0 + timedelta(seconds=1)) and not cursor.reaches(None)
    cursor.advance(T0 + timedelta(seconds=1), 5)
    cursor.settle(T0 + timedelta(seconds=1, milliseconds=300))
    assert cursor.reaches(T0 + timedelta(seconds=1))
    cursor.settle(T0 + timedelta(seconds=10))
    assert not cursor.reaches(T0 + timedelta(seconds=1)) and cursor.reaches(T0 + timedelta(seconds=2))
    assert Cursor.load(cursor.dump(), T0) == cursor


def test_cursor_knows_which_stars_of_its_second_it_has() -> None:
    cursor = Cursor.load(None, T0)
    cursor.advance(T0 + timedelta(seconds=1), 11)
    assert not cursor.is_new(T0 + timedelta(seconds=1), 11) and cursor.is_new(T0 + timedelta(seconds=1), 12)
    assert not cursor.is_new(T0, 13) and cursor.is_new(T0 + timedelta(seconds=2), 11)


def test_backfill_pull_becomes_a_merged_pull_with_unique_reviews() -> None:
    review = gq.BackfillReview(5, "APPROVED", T0, gq.Actor(12, "bob", False))
    pending = gq.BackfillReview(6, "PENDING", None, gq.Actor(12, "bob", False))
    pull = gq.BackfillPull(
        number=3,
        title="Fix",
        url="u",
        created_at=T0 - timedelta(hours=1),
        merged_at=T0,
        author=gq.Actor(11, "alice", False),
        merged_by=gq.Actor(13, "dependabot[bot]", True),
        labels=("bug",),
        reviews=(review, pending),
        reviews_total=2,
    )

    merged, *reviews = graphql_pull_facts("o/r", pull, [review])

    assert merged.state == "merged" and merged.merged_at == T0 and merged.labels == ("bug",)  # type: ignore[union-attr]
    assert merged.merged_by is not None and merged.merged_by.is_bot  # type: ignore[union-attr]
    assert [r.id for r in reviews] == [5]


def test_backfill_issue_and_star() -> None:
    issue = gq.BackfillIssue(
        4, "Bug", "u", T0 - timedelta(days=1), T0, "not_planned", gq.Actor(11, "alice", False), None, ()
    )
    fact = graphql_issue_fact("o/r", issue)
    assert fact.state == "closed" and fact.closed_by is None and fact.state_reason == "not_planned"
    star = graphql_star_fact("o/r", gq.BackfillStar(gq.GHOST, T0))
    assert star.user.login == "ghost" and star.starred_at == T0


def test_user_from_json_marks_bots() -> None:
    assert user_from_json({"login": "renovate[bot]", "id": 1, "type": "User"}).is_bot
    assert user_from_json({"login": "x", "id": 2, "type": "Bot"}).is_bot
    assert not user_from_json({"login": "x", "id": 3, "type": "User", "bio": "hi"}).is_bot
