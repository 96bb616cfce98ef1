"""Review nudges: business time, slots and quiet times, the queue's filters and order, and the nudge itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Settings, parse_settings
from bot.db import Database
from bot.errors import PermissionDenied, UserFacingError
from bot.ledger import Actor, Ledger, PullFact, ReviewFact, ReviewRequestFact
from bot.schedule import crontab_weekdays
from bot.services.reviews import Clicker, ReviewQueue, parse_until
from bot.services.reviews.business import BusinessCalendar
from bot.services.reviews.queue import PullFilter, title_pattern
from bot.services.reviews.render import GROUPS_PER_MESSAGE
from bot.services.reviews.schedule import NudgeSchedule
from bot.timeutil import iso

GUILD = 1094583495310856260
REVIEWS_CHANNEL = 1094583495310856264
MAINTAINERS_ROLE = 1094583495310856270
CORE_ROLE = 1094583495310856271
ALICE = 1094583495310856300
BOB = 1094583495310856301
REPO = "sandbox/project"
AUTHOR = Actor(100, "dev42")
VETERAN = Actor(101, "old-hand")
REV1 = Actor(200, "rev1")
REV2 = Actor(201, "rev2")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in the week of Monday 2 March 2026 (day 0 = Monday)."""
    return MONDAY.replace(hour=hour, minute=minute) + timedelta(days=day)


def make_settings(**reviews: Any) -> Settings:
    return parse_settings(
        {
            "discord": {
                "guild_id": GUILD,
                "maintainer_role_id": MAINTAINERS_ROLE,
                "channels": {"reviews": REVIEWS_CHANNEL},
            },
            "github": {"repositories": [REPO, "sandbox/other"]},
            "reviews": {"team_roles": {"core": CORE_ROLE}} | reviews,
        },
        "test",
    )


class World:
    """A ledger, a clock and the review service over one real database."""

    def __init__(self, db: Database, clock: ManualClock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.ledger = Ledger(db, clock)
        self.service = ReviewQueue(db, clock, settings)
        self._review_ids = 1

    async def pull(
        self,
        number: int,
        *,
        author: Actor = AUTHOR,
        title: str = "Fix the parser",
        draft: bool = False,
        labels: tuple[str, ...] = (),
        state: str = "open",
        repo: str = REPO,
    ) -> None:
        when = self.clock.now()
        merged = when if state == "merged" else None
        fact = PullFact(
            repo,
            number,
            title,
            f"https://github.com/{repo}/pull/{number}",
            author,
            state,  # type: ignore[arg-type]
            draft=draft,
            labels=labels,
            created_at=when,
            updated_at=when,
            merged_at=merged,
        )
        await self.ledger.apply([fact], "webhook")

    async def request(self, number: int, reviewer: Actor | str, *, repo: str = REPO) -> None:
        when = self.clock.now()
        if isinstance(reviewer, str):
            fact = ReviewRequestFact(repo, number, "team", reviewer, when)
        else:
            fact = ReviewRequestFact(repo, number, "user", str(reviewer.id), when, actor=reviewer)
        await self.ledger.apply([fact], "webhook")

    async def review(self, number: int, by: Actor, state: str) -> None:
        self._review_ids += 1
        fact = ReviewFact(self._review_ids, REPO, number, by, state, self.clock.now())
        await self.ledger.apply([fact], "webhook")

    async def link(self, discord_id: int, who: Actor) -> None:
        await self.db.execute(
            "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) VALUES (?,?,?,?,?,?)",
            (GUILD, discord_id, who.id, who.login, "test", iso(self.clock.now())),
        )

    async def outbox(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall("SELECT dedupe_key, kind, payload FROM outbox ORDER BY id")
        return [{"key": r["dedupe_key"], "kind": r["kind"], **json.loads(r["payload"])} for r in rows]

    async def posts(self) -> list[dict[str, Any]]:
        return [row["message"] for row in await self.outbox() if row["kind"] == "message"]


@pytest.fixture
def world_factory(db: Database, clock: ManualClock) -> Any:
    def build(**reviews: Any) -> World:
        return World(db, clock, make_settings(**reviews))

    return build


@pytest.fixture
def world(world_factory: Any) -> World:
    return world_factory()


def description(message: dict[str, Any]) -> str:
    return str(message["embeds"][0]["description"])


# Business time ---------------------------------------------------------------------------------------------


def test_weekend_does_not_count_toward_business_time() -> None:
    calendar = BusinessCalendar.build("UTC", [1, 2, 3, 4, 5])
    friday = at(4, 10)
    assert calendar.elapsed(friday, friday + timedelta(days=3)) == timedelta(days=1)


def test_holiday_is_skipped_in_business_time() -> None:
    calendar = BusinessCalendar.build("UTC", [1, 2, 3, 4, 5], holidays=["2026-03-03"])
    assert calendar.elapsed(at(0, 0), at(3, 0)) == timedelta(days=2)


def test_working_hours_count_a_whole_working_day_as_one_day() -> None:
    calendar = BusinessCalendar.build("UTC", [1, 2, 3, 4, 5], hours="09:00-17:00")
    assert calendar.elapsed(at(0, 9), at(0, 17)) == timedelta(days=1)
    assert calendar.elapsed(at(0, 17), at(1, 9)) == timedelta(0)
    assert calendar.elapsed(at(0, 13), at(1, 11)) == timedelta(hours=18)


def test_business_days_follow_the_schedules_time_zone() -> None:
    calendar = BusinessCalendar.build("Pacific/Auckland", [1, 2, 3, 4, 5])
    # Sunday 12:00 UTC is already Monday 01:00 in Auckland: that hour is a working hour there.
    sunday_noon = at(6, 12)
    assert calendar.elapsed(sunday_noon, sunday_noon + timedelta(hours=1)) == timedelta(hours=1)


# Schedule ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("5-7", "fri,sat,sun"), ("*", "*")],
)
def test_crontab_weekday_numbers_keep_their_crontab_meaning(field: str, expected: str) -> None:
    assert crontab_weekdays(field) == expected


def test_slot_is_the_latest_scheduled_time_at_or_before_now() -> None:
    schedule = NudgeSchedule("0 9 * * 1-5", "UTC")
    assert schedule.slot_at(at(0, 9, 30)) == at(0, 9)
    assert schedule.slot_at(at(0, 9)) == at(0, 9)
    assert schedule.slot_at(at(0, 8, 59)) == at(-3, 9)  # the Friday before
    assert schedule.slot_at(at(5, 12)) == at(4, 9)  # Saturday → Friday's slot


def test_quiet_hours_wrap_past_midnight_and_release_at_their_end() -> None:
    schedule = NudgeSchedule("0 23 * * *", "UTC", ("22:00", "07:00"), quiet_days=[7])
    assert schedule.is_quiet(at(0, 23)) and schedule.is_quiet(at(1, 6, 59))
    assert not schedule.is_quiet(at(1, 7))
    assert schedule.release_time(at(0, 23)) == at(1, 7)
    assert schedule.release_time(at(5, 23)) is None  # released on Sunday, a quiet day: the next slot covers it


# The queue --------------------------------------------------------------------------------------------------


def test_title_patterns_match_whole_words_only() -> None:
    assert title_pattern("WIP").search("[WIP] new parser")
    assert title_pattern("WIP").search("wip: new parser")
    assert not title_pattern("WIP").search("Fix wiping the cache")
    assert title_pattern("[wip]").search("Parser [WIP]")


@pytest.mark.parametrize(
    ("pull", "reason"),
    [
        ({"draft": True}, "draft"),
        ({"labels": ["Blocked"]}, "ignored label"),
        ({"title": "WIP: parser"}, "title"),
        ({"author": "Renovate-Helper"}, "author"),
        ({"repo": "sandbox/other"}, "repository"),
        ({}, None),
    ],
)
def test_filters_say_why_a_pull_request_is_left_out(pull: dict[str, Any], reason: str | None) -> None:
    settings = make_settings(ignored_labels=["blocked"], ignored_authors=["renovate-helper"], repositories=[REPO])
    values = {"repo": REPO, "title": "Fix", "draft": False, "labels": [], "author": "dev42"} | pull
    assert PullFilter.from_settings(settings).skip_reason(**values) == reason


def test_required_labels_keep_only_labelled_pull_requests() -> None:
    flt = PullFilter.from_settings(make_settings(required_labels=["ready"]))
    assert flt.skip_reason(repo=REPO, title="x", draft=False, labels=["Ready"], author="a") is None
    assert flt.skip_reason(repo=REPO, title="x", draft=False, labels=[], author="a") == "missing required label"


async def test_drafts_wip_titles_ignored_labels_and_approved_pulls_are_not_waiting(world_factory: Any) -> None:
    world = world_factory(ignored_labels=["blocked"])
    await world.pull(1, title="Fix the parser")
    await world.pull(2, title="Draft work", draft=True)
    await world.pull(3, title="Blocked work", labels=("blocked",))
    await world.pull(4, title="WIP: more work")
    await world.pull(5, title="Approved work")
    for number in range(1, 6):
        await world.request(number, REV1)
    await world.review(5, VETERAN, "APPROVED")
    await world.review(5, REV2, "APPROVED")
    queue = await world.service.queue()
    assert [item.pull.number for item in queue.items] == [1]


async def test_dismissed_and_bot_approvals_do_not_count(world: World) -> None:
    await world.pull(1)
    await world.request(1, REV1)
    await world.review(1, VETERAN, "APPROVED")
    await world.review(1, Actor(900, "helper[bot]", is_bot=True), "APPROVED")
    await world.review(1, REV2, "APPROVED")
    await world.db.execute("UPDATE reviews SET state = 'DISMISSED' WHERE reviewer_id = ?", (REV2.id,))
    await world.review(1, Actor(300, "critic"), "CHANGES_REQUESTED")
    (item,) = (await world.service.queue()).items
    assert (item.pull.approvals, item.pull.changes_requested) == (1, 1)


async def test_bots_are_never_nudged_nor_nudged_about(world: World) -> None:
    await world.pull(1, author=Actor(901, "dependabot[bot]", is_bot=True))
    await world.request(1, REV1)
    await world.pull(2)
    await world.request(2, Actor(902, "copilot[bot]", is_bot=True))
    assert (await world.service.queue()).items == ()


async def test_a_re_request_restarts_the_clock(world: World) -> None:
    world.clock.set(at(0))
    await world.pull(1)
    await world.request(1, REV1)
    world.clock.set(at(3))
    assert (await world.service.queue()).items[0].overdue
    await world.request(1, REV1)
    world.clock.set(at(3, 10))
    (item,) = (await world.service.queue()).items
    assert not item.overdue and timedelta(minutes=59) < item.waited <= timedelta(hours=1)


@pytest.mark.parametrize("login", ["review-bot[bot]", "ci-helper"])  # a bot, and an ignored account
async def test_a_bot_asking_again_for_a_review_still_awaited_does_not_restart_the_clock(
    world: World, login: str
) -> None:
    world.ledger = Ledger(world.db, world.clock, ignored_logins=["CI-Helper"])
    world.clock.set(at(0))
    await world.pull(1)
    await world.request(1, REV1)
    world.clock.set(at(3))
    automaton = Actor(903, login, is_bot=login.endswith("[bot]"))
    fact = ReviewRequestFact(REPO, 1, "user", str(REV1.id), world.clock.now(), actor=REV1, requester=automaton)
    await world.ledger.apply([fact], "webhook")
    (item,) = (await world.service.queue()).items
    assert item.overdue and item.waited >= timedelta(hours=3)
    await world.review(1, REV1, "COMMENTED")  # answered: a request after that is a new wait, whoever asks
    world.clock.set(at(4))
    await world.ledger.apply([ReviewRequestFact(REPO, 1, "user", str(REV1.id), world.clock.now(), actor=REV1,
                                                requester=automaton)], "webhook")  # fmt: skip
    world.clock.set(at(4, 9, 10))
    (item,) = (await world.service.queue()).items
    assert not item.overdue and timedelta(minutes=9) < item.waited < timedelta(minutes=11)  # the clock runs on


async def test_first_time_contributors_come_first_then_the_oldest(world: World) -> None:
    world.clock.set(at(0))
    await world.pull(9, author=VETERAN, state="merged")
    await world.pull(1, author=VETERAN, title="Old veteran PR")
    await world.request(1, REV1)
    world.clock.set(at(1))
    await world.pull(2, author=VETERAN, title="Newer veteran PR")
    await world.request(2, REV1)
    await world.pull(3, title="First PR")
    await world.request(3, REV1)
    queue = await world.service.queue()
    assert [item.pull.number for item in queue.items] == [3, 1, 2]
    assert [item.pull.first_timer for item in queue.items] == [True, False, False]
    assert queue.count == 3 and queue.oldest is not None and queue.oldest.pull.number == 1


async def test_queue_for_an_unlinked_member_says_how_to_link(world: World) -> None:
    with pytest.raises(UserFacingError, match="/link"):
        await world.service.queue(member=BOB)


async def test_queue_for_an_unknown_repository_lists_the_followed_ones(world: World) -> None:
    with pytest.raises(UserFacingError, match="sandbox/project"):
        await world.service.queue(repo="someone/else")


async def test_queue_for_a_member_includes_their_teams(world: World) -> None:
    await world.link(ALICE, REV1)
    await world.pull(1)
    await world.request(1, REV1)
    await world.pull(2)
    await world.request(2, "core")
    await world.pull(3)
    await world.request(3, REV2)
    mine = await world.service.queue(member=ALICE, member_roles=[CORE_ROLE])
    assert sorted(item.pull.number for item in mine.items) == [1, 2]


# The nudge --------------------------------------------------------------------------------------------------


async def overdue_world(world: World, *reviewers: Actor | str) -> None:
    world.clock.set(at(0, 8))
    for number, reviewer in enumerate(reviewers or (REV1,), start=1):
        await world.pull(number, title=f"Change {number}")
        await world.request(number, reviewer)
    world.clock.set(at(2, 9, 30))


async def test_nudge_mentions_a_linked_reviewer_once_per_slot(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world)
    first = await world.service.nudge()
    again = await world.service.nudge()
    assert (first.outcome, again.outcome) == ("posted", "already-posted")
    (post,) = await world.outbox()
    assert post["key"] == f"nudge:{GUILD}:{iso(at(2, 9))}" and post["channel_id"] == REVIEWS_CHANNEL
    assert f"<@{ALICE}>" in post["message"]["content"]
    assert post["message"]["mention_users"] == [ALICE]
    assert "Change 1" in description(post["message"])
    assert [b["custom_id"] for b in post["message"]["buttons"]] == ["nudge:snooze:user:200", "nudge:onit:user:200"]


async def test_nothing_is_posted_when_no_request_is_overdue(world: World) -> None:
    world.clock.set(at(2, 8))
    await world.pull(1)
    await world.request(1, REV1)
    world.clock.set(at(2, 9, 30))
    assert (await world.service.nudge()).outcome == "nothing-waiting"
    assert await world.outbox() == []


async def test_team_request_mentions_the_mapped_role_and_unmapped_teams_are_named(world: World) -> None:
    await overdue_world(world, "core", "docs")
    await world.service.nudge()
    (message,) = await world.posts()
    assert f"<@&{CORE_ROLE}>" in message["content"] and message["mention_roles"] == [CORE_ROLE]
    assert "**Team docs**" in description(message)


async def test_away_reviewer_is_listed_but_not_mentioned(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world)
    await world.service.set_away(ALICE, "3d")
    await world.service.nudge()
    (message,) = await world.posts()
    assert f"<@{ALICE}>" not in message["content"] and message["mention_users"] == []
    assert "away until" in description(message)


async def test_escalated_request_mentions_the_maintainer_role(world: World) -> None:
    await overdue_world(world)
    world.clock.set(at(7, 9, 30))
    await world.service.nudge()
    (message,) = await world.posts()
    assert f"<@&{MAINTAINERS_ROLE}>" in message["content"] and MAINTAINERS_ROLE in message["mention_roles"]


async def test_business_days_keep_a_weekend_request_quiet_until_enough_working_time(world_factory: Any) -> None:
    world = world_factory(business_days=True)
    world.clock.set(at(4, 10))  # Friday
    await world.pull(1)
    await world.request(1, REV1)
    world.clock.set(at(7, 10))  # Monday: one business day
    assert (await world.service.nudge()).outcome == "nothing-waiting"
    world.clock.set(at(8, 10, 1))  # Tuesday: two
    assert (await world.service.nudge()).outcome == "posted"


async def test_quiet_hours_hold_the_post_until_they_end(world_factory: Any) -> None:
    world = world_factory(quiet_hours={"start": "08:00", "end": "10:00"})
    await overdue_world(world)
    assert (await world.service.nudge()).outcome == "quiet"
    world.clock.set(at(2, 10, 0))
    assert (await world.service.nudge("release")).outcome == "posted"
    assert len(await world.posts()) == 1


async def test_a_quiet_days_slot_waits_for_the_next_slot(world_factory: Any) -> None:
    world = world_factory(schedule="0 9 * * *", quiet_days=[6, 7])
    await overdue_world(world)
    world.clock.set(at(5, 9, 30))  # Saturday
    assert (await world.service.nudge()).outcome == "quiet"
    world.clock.set(at(7, 7))  # Monday before the slot: Sunday's slot is not carried over
    assert (await world.service.nudge("release")).outcome == "quiet-day"
    assert (await world.service.nudge()).outcome == "quiet-day"
    world.clock.set(at(7, 9, 30))
    assert (await world.service.nudge()).outcome == "posted"


async def test_a_missed_slot_posts_on_start_up_only_within_grace(world: World) -> None:
    await overdue_world(world)
    world.clock.set(at(2, 16))  # 7 h after the slot, grace is 6 h
    assert (await world.service.nudge("catch-up")).outcome == "not-due"
    world.clock.set(at(2, 14))
    assert (await world.service.nudge("catch-up")).outcome == "posted"


async def test_snooze_hides_the_reviewer_from_the_next_run_only(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world, REV1, REV2)
    await world.service.nudge()
    await world.service.snooze("user:200", Clicker(ALICE))
    world.clock.set(at(3, 9, 30))
    await world.service.nudge()
    world.clock.set(at(4, 9, 30))
    await world.service.nudge()
    first, snoozed, later = (description(message) for message in await world.posts())
    assert "rev1" in first and "rev1" not in snoozed and "rev2" in snoozed and "rev1" in later


async def test_a_friday_snooze_still_skips_mondays_reminder(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world)
    world.clock.set(at(4, 9, 30))  # Friday, after the slot
    _, until = await world.service.snooze("user:200", Clicker(ALICE))
    assert until > at(7, 9)
    world.clock.set(at(7, 9, 30))
    assert (await world.service.nudge()).outcome == "nothing-waiting"
    world.clock.set(at(8, 9, 30))
    assert (await world.service.nudge()).outcome == "posted"


async def test_on_it_hides_the_acknowledged_pulls_until_a_re_request(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world)
    done = await world.service.on_it("user:200", Clicker(ALICE))
    assert done.pulls == [f"{REPO}#1"]
    world.clock.set(at(3, 9, 30))
    assert (await world.service.nudge()).outcome == "nothing-waiting"
    await world.request(1, REV1)
    world.clock.set(at(6, 9, 30))
    assert (await world.service.nudge()).outcome == "posted"


async def test_only_the_reviewer_their_team_or_a_maintainer_may_press_the_buttons(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world, REV1, "core")
    with pytest.raises(PermissionDenied, match="rev1"):
        await world.service.snooze("user:200", Clicker(BOB))
    with pytest.raises(PermissionDenied):
        await world.service.snooze("team:core", Clicker(BOB))
    await world.service.snooze("user:200", Clicker(BOB, maintainer=True))
    await world.service.snooze("team:core", Clicker(BOB, role_ids=frozenset({CORE_ROLE})))


async def test_a_reviewer_who_asked_for_dms_gets_their_own_list(world: World) -> None:
    await world.link(ALICE, REV1)
    await overdue_world(world, REV1, REV2)
    await world.service.set_dm(ALICE, True)
    result = await world.service.nudge()
    dms = [row for row in await world.outbox() if row["kind"] == "dm"]
    assert result.dms == 1 and [dm["user_id"] for dm in dms] == [ALICE]
    assert "Change 1" in description(dms[0]["message"]) and "Change 2" not in description(dms[0]["message"])


async def test_rows_beyond_the_cap_are_counted_as_more(world_factory: Any) -> None:
    world = world_factory(max_rows=2)
    await overdue_world(world, REV1, REV1, REV2, REV2)
    await world.service.nudge()
    (message,) = await world.posts()
    assert description(message).count("• ") == 2 and "and 2 more" in description(message)


async def test_reviewers_beyond_one_messages_buttons_get_a_follow_up_message(world_factory: Any) -> None:
    world = world_factory(max_rows=50)
    reviewers = [Actor(400 + i, f"reviewer{i}") for i in range(GROUPS_PER_MESSAGE + 2)]
    await overdue_world(world, *reviewers)
    await world.service.nudge()
    main, extra = await world.posts()
    assert len(main["buttons"]) == 2 * GROUPS_PER_MESSAGE and len(extra["buttons"]) == 4
    keys = [row["key"] for row in await world.outbox()]
    assert keys == [f"nudge:{GUILD}:{iso(at(2, 9))}", f"nudge:{GUILD}:{iso(at(2, 9))}:2"]


# /away ------------------------------------------------------------------------------------------------------


def test_away_until_a_date_lasts_through_that_day() -> None:
    assert parse_until("2026-03-10", at(0), "UTC") == datetime(2026, 3, 11, tzinfo=UTC)
    assert parse_until("3d", at(0), "UTC") == at(3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-03-01", "not in the future"),
        ("2027-06-01", "at most a year"),
        ("soon", "couldn't read"),
        ("2026-02-30", "not a real date"),
    ],
)
def test_away_rejects_bad_dates_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(UserFacingError, match=message):
        parse_until(text, at(0), "UTC")


async def test_back_ends_the_leave(world: World) -> None:
    await world.service.set_away(ALICE, "2w")
    assert await world.service.back(ALICE) is True
    assert await world.service.back(ALICE) is False
