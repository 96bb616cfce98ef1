"""The weekly digest: periods aligned to the schedule, numbers from the ledger, one post per slot."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from bot.clock import ManualClock
from bot.config import Settings, parse_settings
from bot.db import Database
from bot.errors import UserFacingError
from bot.ledger import Actor, IssueFact, Ledger, PullFact, ReviewFact, ReviewRequestFact, StarFact
from bot.messages import OutMessage
from bot.services.digest import Digest, Schedule
from bot.services.digest.chart import render_chart
from bot.services.digest.render import CHART_FILE
from bot.services.reviews import ReviewQueue
from bot.timeutil import iso

GUILD = 1094583495310856262
CHANNEL = 1094583495310856265
REPO = "acme/widgets"
ALICE, BOB, CAROL = Actor(1, "alice"), Actor(2, "bob"), Actor(3, "carol")
DAVE, ERIN = Actor(4, "dave"), Actor(5, "erin")
DEPENDABOT, STALE = Actor(90, "dependabot[bot]", is_bot=True), Actor(91, "stale[bot]", is_bot=True)
# The clock fixture stands on Monday 2 March 2026; the default slot is Friday 16:00 UTC.
SLOT = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
START = SLOT - timedelta(days=7)


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def settings(**digest: Any) -> Settings:
    return parse_settings(
        {
            "discord": {"guild_id": GUILD, "channels": {"digest": CHANNEL}},
            "github": {"repositories": [REPO]},
            "digest": digest,
        }
    )


def merged(number: int, author: Actor, when: datetime, by: Actor = BOB, opened: datetime | None = None) -> PullFact:
    return PullFact(
        REPO, number, f"Change {number}", f"https://gh/{REPO}/pull/{number}", author, "merged",
        created_at=opened or when - timedelta(hours=1), merged_at=when, merged_by=by,
    )  # fmt: skip


def opened(number: int, author: Actor, when: datetime) -> PullFact:
    return PullFact(
        REPO, number, f"Change {number}", f"https://gh/{REPO}/pull/{number}", author, "open", created_at=when
    )


def review(review_id: int, number: int, reviewer: Actor, when: datetime) -> ReviewFact:
    return ReviewFact(review_id, REPO, number, reviewer, "APPROVED", when)


def issue(number: int, state: str, when: datetime, closer: Actor | None = None, labels: tuple[str, ...] = ()) -> Any:
    return IssueFact(
        REPO, number, f"Issue {number}", f"https://gh/{REPO}/issues/{number}", CAROL, state,  # type: ignore[arg-type]
        labels=labels, created_at=when - timedelta(days=1), closed_at=when if state == "closed" else None,
        closed_by=closer,
    )  # fmt: skip


async def make(db: Database, clock: ManualClock, **digest: Any) -> tuple[Digest, Ledger]:
    await db.set_state("go_live", iso(datetime(2026, 1, 1, tzinfo=UTC)))
    ledger = Ledger(db, clock)
    config = settings(**digest)
    return Digest(db, clock, config, go_live=ledger.go_live), ledger


async def busy_week(db: Database, ledger: Ledger) -> None:
    """A week with two newcomers (one linked), merges, reviews, closes, stars, a promotion and thanks."""
    await ledger.apply(
        [
            merged(2, CAROL, at(10, month=2)),  # carol is no newcomer
            merged(5, CAROL, at(25, month=2)),  # the week before
            opened(1, ALICE, at(2, 10)),
            ReviewRequestFact(REPO, 1, "user", str(BOB.id), at(2, 10)),
            review(101, 1, BOB, at(2, 14)),  # 4 h to first review, a first-timer's PR
            merged(1, ALICE, at(3), opened=at(2, 10)),
            opened(3, CAROL, at(3, 9)),
            review(102, 3, CAROL, at(3, 9)),  # her own review is no response
            review(103, 3, BOB, at(3, 10)),  # 1 h
            review(104, 3, DAVE, at(4)),
            merged(3, CAROL, at(4), opened=at(3, 9)),
            merged(4, DEPENDABOT, at(4)),  # a bot's PR: not counted, though bob's merge is
            merged(7, DAVE, at(5), by=DAVE),  # dave's first merged PR, which he merged himself
            opened(6, ERIN, at(5, 8)),
            ReviewRequestFact(REPO, 6, "user", str(BOB.id), at(5, 8)),
            issue(10, "closed", at(4), ALICE),
            issue(11, "closed", at(5), BOB),
            issue(12, "closed", at(5), STALE),
            issue(13, "open", at(2), labels=("Good First Issue",)),
            issue(14, "open", at(3), labels=("help wanted", "bug")),
            issue(15, "open", at(4), labels=("bug",)),
            StarFact(REPO, ERIN, at(5, month=1)),
            StarFact(REPO, DAVE, at(6, month=1)),
            StarFact(REPO, ALICE, at(3)),
            StarFact(REPO, CAROL, at(4)),
            StarFact(REPO, DEPENDABOT, at(4)),
        ],
        "webhook",
    )
    await db.execute(
        "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) VALUES (?, 777, 1, 'alice', "
        "'device', ?)",
        (GUILD, iso(at(1))),
    )
    for member, tier, when in ((777, "Priest in training", at(3)), (888, "Priest", at(1, month=2))):
        await db.execute(
            "INSERT INTO tier_grants(guild_id, discord_id, tier, granted_at) VALUES (?, ?, ?, ?)",
            (GUILD, member, tier, iso(when)),
        )
    for when in (at(3), at(4), at(1, month=2)):
        await db.execute(
            "INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, at) VALUES (?, 1, 2, ?)", (GUILD, iso(when))
        )
    await db.execute(
        "INSERT INTO recognitions(guild_id, member_id, kind, link, by_id, at) VALUES (?, 1, 'docs', 'u', 2, ?)",
        (GUILD, iso(at(4))),
    )


async def outbox(db: Database) -> list[tuple[str, OutMessage]]:
    rows = await db.fetchall("SELECT dedupe_key, payload FROM outbox ORDER BY id")
    return [(row[0], OutMessage.from_json(json.loads(row[1])["message"])) for row in rows]


# -- periods -------------------------------------------------------------------------------------------


def test_period_ends_at_the_latest_slot_and_starts_a_period_earlier() -> None:
    schedule = Schedule("0 16 * * 5", "UTC", timedelta(days=7))
    assert schedule.latest_slot(at(2)) == at(27, 16, month=2)
    assert schedule.latest_slot(SLOT) == SLOT
    assert schedule.last_finished(SLOT + timedelta(minutes=5)) is not None
    assert schedule.last_finished(SLOT + timedelta(minutes=5)).start == START  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("cron", "weekday"), [("0 16 * * 5", 4), ("0 16 * * 0", 6), ("0 16 * * 7", 6), ("0 16 * * sat", 5)]
)
def test_cron_weekdays_count_from_sunday_as_in_crontab(cron: str, weekday: int) -> None:
    slot = Schedule(cron, "UTC", timedelta(days=7)).latest_slot(at(2))
    assert slot is not None and slot.weekday() == weekday


def test_schedule_slots_follow_their_time_zone() -> None:
    schedule = Schedule("0 16 * * 5", "Europe/Paris", timedelta(days=7))
    assert schedule.latest_slot(at(2)) == at(27, 15, month=2)  # 16:00 in Paris is 15:00 UTC in winter


def test_a_week_across_a_clock_change_runs_from_slot_to_slot() -> None:
    schedule = Schedule("0 16 * * 5", "Europe/Paris", timedelta(days=7))
    week = schedule.last_finished(at(5, 12, month=4))  # Paris moved to summer time on Sunday 29 March
    assert week is not None and (week.start, week.end) == (at(27, 15), at(3, 14, month=4))
    assert schedule.earlier(week, 1).end == week.start


def test_period_option_reads_this_last_and_dates() -> None:
    schedule = Schedule("0 16 * * 5", "UTC", timedelta(days=7))
    now = at(2)
    assert schedule.resolve(None, now).end == SLOT
    assert schedule.resolve("last", now).end == at(27, 16, month=2)
    assert schedule.resolve("2026-02-20", now).end == at(20, 16, month=2)
    assert schedule.resolve("2026-02-21", now).end == at(27, 16, month=2)


@pytest.mark.parametrize(("text", "says"), [("yesterday", "can't read"), ("2026-02-30", "not a real date"),
                                            ("2026-04-01", "in the future")])  # fmt: skip
def test_a_bad_period_option_is_explained(text: str, says: str) -> None:
    schedule = Schedule("0 16 * * 5", "UTC", timedelta(days=7))
    with pytest.raises(UserFacingError, match=says):
        schedule.resolve(text, at(2))


# -- numbers -------------------------------------------------------------------------------------------


async def test_digest_numbers_match_what_happened_in_the_week(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(minutes=5))
    data = await digest.build(digest.schedule.ending_at(SLOT))
    assert [(who.login, who.discord_id) for who in data.new_contributors] == [("alice", 777), ("dave", None)]
    assert (data.merged, data.merged_before) == (3, 1)  # alice, carol, dave; not dependabot
    assert [(r.who.login, r.count) for r in data.top_mergers] == [("bob", 3), ("dave", 1)]
    assert (data.reviews, data.reviewed_prs) == (3, 2)
    assert [(r.who.login, r.count) for r in data.top_reviewers] == [("bob", 2), ("dave", 1)]
    assert data.issues_closed == 2
    assert sorted((r.who.login, r.count) for r in data.top_closers) == [("alice", 1), ("bob", 1)]
    assert (data.stars_gained, data.stars_total) == (2, 4)
    assert [(p.discord_id, p.tier) for p in data.promotions] == [(777, "Priest in training")]
    assert (data.kudos, data.recognitions) == (2, 1)
    assert [ref.number for ref in data.good_first_issues] == [14, 13]


async def test_health_reports_the_queue_and_time_to_first_review(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(minutes=5))
    health = (await digest.build(digest.schedule.ending_at(SLOT))).health
    assert health.waiting == 1
    assert health.oldest is not None and health.oldest.ref.number == 6
    assert health.first_review == timedelta(hours=2, minutes=30)  # median of 4 h and 1 h
    assert health.first_review_sample == 2
    assert health.unanswered == 2  # erin's #6 and dave's #7; dependabot's PR is not counted
    assert (health.newcomer_first_review, health.newcomer_sample) == (timedelta(hours=4), 1)


async def test_health_reads_the_review_queue_of_the_reviews_feature(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await busy_week(db, ledger)
    wip = PullFact(REPO, 8, "WIP: not yet", "https://gh/8", CAROL, "open", created_at=at(1))
    await ledger.apply([wip, ReviewRequestFact(REPO, 8, "user", str(BOB.id), at(1))], "webhook")
    clock.set(SLOT)
    assert (await digest.build(digest.schedule.ending_at(SLOT))).health.waiting == 2  # on its own: every request
    config = settings()
    with_reviews = Digest(db, clock, config, go_live=ledger.go_live, reviews=ReviewQueue(db, clock, config))
    health = (await with_reviews.build(with_reviews.schedule.ending_at(SLOT))).health
    assert health.waiting == 1  # the reviews feature leaves WIP pull requests out
    assert health.oldest is not None and health.oldest.ref.number == 6 and health.oldest.since == at(5, 8)


async def test_chart_series_cover_the_last_twelve_periods(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await busy_week(db, ledger)
    series = (await digest.build(digest.schedule.ending_at(SLOT))).chart
    assert series is not None
    assert len(series.ends) == 12 and series.ends[-1] == SLOT
    assert series.merged[-4:] == [1, 0, 1, 3]  # carol on 10 Feb and 25 Feb, then this week
    assert series.newcomers[-4:] == [1, 0, 0, 2]
    assert series.stars[-1] == 4 and series.stars[0] == 0


# -- the post -----------------------------------------------------------------------------------------


async def test_post_names_new_contributors_first_and_pings_only_linked_ones(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, chart=False)
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(minutes=5))
    _, message = await digest.message(digest.schedule.ending_at(SLOT))
    assert message is not None
    welcome = message.content.splitlines()[1]
    assert "<@777>" in welcome and "**dave**" in welcome
    assert message.mention_users == (777,) and message.mention_roles == ()
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    assert "**3** merged (▲ 2 from the week before)" in fields["🔀 Pull requests"]
    assert "**+2** this week · **4** in total" in fields["⭐ Stars"]
    assert "<@777> → **Priest in training**" in fields["🪜 Promotions"]
    assert "**1** PR waiting for review now: [widgets#6" in fields["🩺 Review health"]
    assert "widgets#14" in fields["🌱 Good first issues"]
    assert "@everyone" not in message.content + json.dumps(message.embeds)


async def test_new_contributors_are_named_without_a_ping_when_mentions_are_off(
    db: Database, clock: ManualClock
) -> None:
    digest, ledger = await make(db, clock, chart=False, mention_new_contributors=False)
    await busy_week(db, ledger)
    _, message = await digest.message(digest.schedule.ending_at(SLOT))
    assert message is not None and "<@777>" in message.content and message.mention_users == ()


async def test_sections_can_be_turned_off(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, chart=False, sections=["merges", "stars"])
    await busy_week(db, ledger)
    _, message = await digest.message(digest.schedule.ending_at(SLOT))
    assert message is not None
    assert [f["name"] for f in message.embeds[0]["fields"]] == ["🔀 Pull requests", "⭐ Stars"]
    assert "Welcome" not in message.content


async def test_chart_is_attached_as_a_readable_png(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await busy_week(db, ledger)
    _, message = await digest.message(digest.schedule.ending_at(SLOT))
    assert message is not None and [f.filename for f in message.files] == [CHART_FILE]
    png = message.files[0].data
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size[0] > 400
    assert message.embeds[0]["image"] == {"url": f"attachment://{CHART_FILE}"}


async def test_an_empty_chart_still_draws(db: Database, clock: ManualClock) -> None:
    digest, _ = await make(db, clock)
    series = (await digest.build(digest.schedule.ending_at(SLOT))).chart
    assert series is not None
    assert render_chart(series, "UTC").startswith(b"\x89PNG")


# -- scheduling ---------------------------------------------------------------------------------------


async def test_scheduled_digest_is_queued_once_per_slot(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(minutes=1))
    assert (await digest.run_scheduled()).status == "posted"
    assert (await digest.run_scheduled()).status == "already_done"
    rows = await outbox(db)
    assert [key for key, _ in rows] == [f"digest:{GUILD}:2026-03-06T16:00:00.000000Z"]


async def test_missed_slot_is_caught_up_within_the_grace_period(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, grace="12h")
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(hours=11))
    outcome = await digest.run_scheduled()
    assert outcome.status == "posted" and outcome.period is not None and outcome.period.end == SLOT
    assert len(await outbox(db)) == 1


async def test_slot_missed_for_longer_than_the_grace_is_let_go(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, grace="12h")
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(hours=13))
    assert (await digest.run_scheduled()).status == "missed"
    assert await outbox(db) == []


async def test_slot_before_vestry_went_live_is_not_posted(db: Database, clock: ManualClock) -> None:
    digest, _ = await make(db, clock)
    await db.set_state("go_live", iso(SLOT + timedelta(minutes=1)))
    digest = Digest(db, clock, settings(), go_live=Ledger(db, clock).go_live)
    clock.set(SLOT + timedelta(minutes=2))
    assert (await digest.run_scheduled()).status == "before_go_live"


async def test_quiet_week_gets_a_short_friendly_post(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock)
    await ledger.apply([issue(13, "open", at(2), labels=("good first issue",))], "webhook")
    clock.set(SLOT + timedelta(minutes=1))
    assert (await digest.run_scheduled()).status == "posted"
    [(_, message)] = await outbox(db)
    assert "quiet week" in message.content and "widgets#13" in message.content
    assert message.embeds == () and message.files == ()


async def test_quiet_week_can_be_skipped(db: Database, clock: ManualClock) -> None:
    digest, _ = await make(db, clock, quiet_week="skip")
    clock.set(SLOT + timedelta(minutes=1))
    assert (await digest.run_scheduled()).status == "quiet_skipped"
    assert (await digest.run_scheduled()).status == "already_done"
    assert await outbox(db) == []


async def test_posting_by_hand_leaves_the_scheduled_digest_alone(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, chart=False)
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(minutes=1))
    posted = await digest.post_now("last", request_id="42")
    assert posted.period.end == SLOT and posted.channel_id == CHANNEL
    assert (await digest.run_scheduled()).status == "posted"
    assert [key for key, _ in await outbox(db)] == [f"digest-post:{GUILD}:42", digest.dedupe_key(SLOT)]


async def test_posting_by_hand_without_a_channel_says_how_to_set_one(db: Database, clock: ManualClock) -> None:
    config = parse_settings({"discord": {"guild_id": GUILD}, "github": {"repositories": [REPO]}})
    digest = Digest(db, clock, config, go_live=Ledger(db, clock).go_live)
    with pytest.raises(UserFacingError, match=r"discord\.channels"):
        await digest.post_now(None, request_id="1")


async def test_preview_of_a_past_period_shows_its_numbers(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, chart=False)
    await busy_week(db, ledger)
    clock.set(SLOT + timedelta(days=10))
    reply = await digest.preview("2026-03-02")
    assert reply.ephemeral and "Preview of the digest for 27 Feb – 6 Mar 2026" in reply.content
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["🔀 Pull requests"].startswith("**3** merged")


async def test_preview_of_the_running_period_says_so(db: Database, clock: ManualClock) -> None:
    digest, ledger = await make(db, clock, chart=False)
    await busy_week(db, ledger)
    clock.set(at(4, 18))
    reply = await digest.preview("this")
    assert "still running" in reply.content and "so far" in reply.content
