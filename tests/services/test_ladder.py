"""The ladder: promotions as facts arrive, approvals, unlinking, reconcile under sticky and recompute, /rank, board."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import domain
from bot.clock import ManualClock
from bot.config import Settings, parse_settings
from bot.db import Database
from bot.errors import UserFacingError
from bot.events import EventBus, append_event
from bot.ledger import Actor, IssueFact, Ledger, PullFact, ReviewFact, Source, StarFact
from bot.messages import OutMessage
from bot.outbox import Dispatcher, PermanentError
from bot.services.ladder import Ladder, MemberState, parse_category, parse_period
from bot.services.ladder.rules import describe_window, missing
from bot.services.stats import Contributions
from bot.timeutil import iso

GUILD, KUDOS, MAINTAINERS = 1000, 2000, 2001
FOLLOWER, TRAINEE, PRIEST = 3001, 3002, 3003
REPO = "acme/app"
MAINTAINER = Actor(1, "maintainer")
TIERS: list[dict[str, Any]] = [
    {"name": "Follower", "role_id": FOLLOWER, "criteria": {"linked": True}},
    {"name": "Priest in training", "role_id": TRAINEE, "criteria": {"merged_prs": 1}},
    {"name": "Priest", "role_id": PRIEST, "criteria": {"merges": 1}},
]


def make_settings(tiers: list[dict[str, Any]] | None = None, **ladder: Any) -> Settings:
    """One guild with kudos and maintainers channels and the sandbox's three tiers."""
    return parse_settings(
        {
            "discord": {"guild_id": GUILD, "channels": {"kudos": KUDOS, "maintainers": MAINTAINERS}},
            "github": {"repositories": [REPO], "ignored_accounts": ["ignored-one"]},
            "ladder": {"tiers": tiers or TIERS, **ladder},
        }
    )


@dataclass
class FakeDiscord:
    """The server as the dispatcher changes it and reconcile reads it."""

    members: dict[int, MemberState] = field(default_factory=dict)
    unmanageable: set[int] = field(default_factory=set)
    posts: list[tuple[int, str]] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    dms: list[tuple[int, str]] = field(default_factory=list)

    def join(self, member: int, when: datetime) -> None:
        self.members[member] = MemberState(frozenset(), when)

    def roles(self, member: int) -> set[int]:
        return set(self.members[member].roles)

    def take(self, member: int, role: int) -> None:
        state = self.members[member]
        self.members[member] = MemberState(state.roles - {role}, state.joined_at)

    # MemberDirectory
    batch_size = 2  # small, so that the tests' few members take several batches

    async def states_of(self, discord_ids: Sequence[int]) -> dict[int, MemberState]:
        assert len(discord_ids) <= self.batch_size
        return {m: self.members[m] for m in discord_ids if m in self.members}

    def role_problem(self, role_id: int) -> str | None:
        return f"role {role_id} is above the bot's" if role_id in self.unmanageable else None

    # DiscordSink
    async def send_message(self, channel_id: int, message: OutMessage, nonce: str) -> int:
        self.posts.append((channel_id, message.content))
        return len(self.posts)

    async def send_dm(self, user_id: int, message: OutMessage, nonce: str) -> int:
        self.dms.append((user_id, message.content))
        return 9000 + len(self.dms)

    async def edit_message(self, channel_id: int, message_id: int, message: OutMessage) -> None:
        self.edits.append(message.content)

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        if role_id in self.unmanageable:
            raise PermanentError("403 Missing Permissions")
        state = self.members[user_id]
        self.members[user_id] = MemberState(state.roles | {role_id}, state.joined_at)

    async def remove_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        if user_id in self.members:
            self.take(user_id, role_id)


class World:
    """A ledger, the event bus, the ladder consumer and a fake Discord behind the real outbox dispatcher."""

    def __init__(self, db: Database, clock: ManualClock, settings: Settings) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.bus = EventBus(db, clock)
        self.ledger = Ledger(db, clock, settings.github.ignored_accounts)
        self.ladder = Ladder(db, clock, settings)
        self.bus.subscribe(self.ladder)
        self.discord = FakeDiscord()
        self.dispatcher = Dispatcher(db, clock, self.discord)
        self.number = 0

    async def settle(self) -> None:
        await self.bus.drain()
        await self.dispatcher.run_once()

    async def event(self, kind: str, payload: dict[str, Any]) -> None:
        async with self.db.transaction() as conn:
            await append_event(conn, domain.decode(kind, payload), historical=False, now=self.clock.now())
        await self.settle()

    async def link(self, member: int, who: Actor, *, join: bool = True) -> None:
        if join and member not in self.discord.members:
            self.discord.join(member, self.clock.now() - timedelta(days=30))
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) "
                "VALUES (?, ?, ?, ?, 'test', ?)",
                (GUILD, member, who.id, who.login, iso(self.clock.now())),
            )
        await self.event(
            domain.MemberLinked.KIND, {"guild_id": GUILD, "discord_id": member, "github_id": who.id, "login": who.login}
        )

    async def unlink(self, member: int, who: Actor) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM links WHERE guild_id = ? AND discord_id = ?", (GUILD, member))
        await self.event(domain.MemberUnlinked.KIND, {"guild_id": GUILD, "discord_id": member, "github_id": who.id})

    async def merge(
        self, author: Actor, by: Actor = MAINTAINER, source: Source = "webhook", when: datetime | None = None
    ) -> None:
        self.number += 1
        at = when or self.clock.now()
        fact = PullFact(REPO, self.number, "A change", "u", author, "merged", merged_at=at, merged_by=by, updated_at=at)
        await self.ledger.apply([fact], source)
        await self.settle()

    async def reconcile(self) -> Any:
        report = await self.ladder.reconcile(self.discord)
        await self.dispatcher.run_once()
        return report

    def ladder_posts(self) -> list[str]:
        return [text for channel, text in self.discord.posts if channel == KUDOS]

    async def requests(self) -> list[Any]:
        return await self.db.fetchall("SELECT id, discord_id, tier, status FROM promotion_requests ORDER BY id")


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> AsyncIterator[World]:
    """The default ladder: stack, sticky, announcements on."""
    async with running(db, clock, make_settings()) as built:
        yield built


class running:
    """Start a world's event bus for the block."""

    def __init__(self, db: Database, clock: ManualClock, settings: Settings) -> None:
        self.world = World(db, clock, settings)

    async def __aenter__(self) -> World:
        await self.world.ledger.go_live()
        self.world.number = int(await self.world.db.fetchval("SELECT COUNT(*) FROM pull_requests", default=0))
        await self.world.bus.start()
        return self.world

    async def __aexit__(self, *exc: object) -> None:
        await self.world.bus.stop()


ALICE, BOB = Actor(42, "alice"), Actor(43, "bob")
A, B = 501, 502


# Promotions ----------------------------------------------------------------------------------------------------


async def test_linking_makes_a_member_follower_with_one_announcement(world: World) -> None:
    await world.link(A, ALICE)
    assert world.discord.roles(A) == {FOLLOWER}
    assert world.ladder_posts() == [f"<@{A}> is now a Follower!"]


async def test_first_merge_promotes_to_priest_in_training_and_later_merges_announce_nothing(world: World) -> None:
    await world.link(A, ALICE)
    await world.merge(ALICE)
    await world.merge(ALICE)
    assert world.discord.roles(A) == {FOLLOWER, TRAINEE}
    assert world.ladder_posts() == [f"<@{A}> is now a Follower!", f"<@{A}> is now a Priest in training!"]


async def test_merging_someone_elses_pr_makes_the_merger_a_priest(world: World) -> None:
    await world.link(A, ALICE)
    await world.link(B, BOB)
    await world.merge(BOB, by=ALICE)
    assert PRIEST in world.discord.roles(A) and TRAINEE in world.discord.roles(B)
    assert PRIEST not in world.discord.roles(B)


async def test_merging_your_own_pr_is_not_a_merge_of_someone_elses(world: World) -> None:
    await world.link(A, ALICE)
    await world.merge(ALICE, by=ALICE)
    assert world.discord.roles(A) == {FOLLOWER, TRAINEE}


async def test_linking_with_earlier_contributions_announces_only_the_highest_tier(world: World) -> None:
    await world.merge(ALICE)
    await world.link(A, ALICE)
    assert world.discord.roles(A) == {FOLLOWER, TRAINEE}
    assert world.ladder_posts() == [f"<@{A}> is now a Priest in training!"]


async def test_reviews_issues_stars_and_kudos_promote_when_the_tier_asks_for_them(
    db: Database, clock: ManualClock
) -> None:
    tiers = [
        {"name": "Reviewer", "role_id": 3101, "criteria": {"reviews": 1}},
        {"name": "Closer", "role_id": 3102, "criteria": {"issues_closed": 1}},
        {"name": "Fan", "role_id": 3103, "criteria": {"starred": True}},
        {"name": "Liked", "role_id": 3104, "criteria": {"kudos": 1}},
    ]
    async with running(db, clock, make_settings(tiers)) as w:
        await w.link(A, ALICE)
        assert w.discord.roles(A) == set()
        now = clock.now()
        await w.ledger.apply([ReviewFact(7, REPO, 1, ALICE, "APPROVED", now)], "webhook")
        await w.ledger.apply([IssueFact(REPO, 3, "Bug", "u", BOB, "closed", closed_at=now, closed_by=ALICE)], "webhook")
        await w.ledger.apply([StarFact(REPO, ALICE, now)], "webhook")
        await w.settle()
        assert w.discord.roles(A) == {3101, 3102, 3103}
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, at) VALUES (?, ?, ?, ?)",
                (GUILD, B, A, iso(now)),
            )
        await w.event(domain.KudosGiven.KIND, {"guild_id": GUILD, "giver_id": B, "receiver_id": A})
        assert w.discord.roles(A) == {3101, 3102, 3103, 3104}


async def test_bots_and_ignored_accounts_are_never_promoted(world: World) -> None:
    await world.link(A, Actor(77, "ignored-one"))
    await world.merge(Actor(77, "ignored-one"))
    await world.link(B, Actor(78, "helper[bot]", is_bot=True))
    assert world.discord.roles(A) == set() and world.discord.roles(B) == set()
    assert world.ladder_posts() == []


async def test_replace_mode_keeps_only_the_highest_role(db: Database, clock: ManualClock) -> None:
    async with running(db, clock, make_settings(mode="replace")) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
        assert w.discord.roles(A) == {TRAINEE}


async def test_promotion_dm_is_sent_when_configured(db: Database, clock: ManualClock) -> None:
    async with running(
        db, clock, make_settings(dm_member=True, promotion_message="{member}: {tier}, then {next_tier}")
    ) as w:
        await w.link(A, ALICE)
        assert w.ladder_posts() == [f"<@{A}>: Follower, then Priest in training"]
        assert w.discord.dms[0][0] == A and "Follower" in w.discord.dms[0][1]


# History is not news -------------------------------------------------------------------------------------------


async def test_history_places_members_silently_with_one_summary_post_that_grows(world: World) -> None:
    await world.link(A, ALICE)
    await world.link(B, BOB)
    before = world.ladder_posts()
    old = world.clock.now() - timedelta(days=400)
    await world.merge(ALICE, source="backfill", when=old)
    await world.merge(BOB, source="backfill", when=old)
    assert world.discord.roles(A) == {FOLLOWER, TRAINEE} and world.discord.roles(B) == {FOLLOWER, TRAINEE}
    new_posts = world.ladder_posts()[len(before) :]
    assert new_posts == ["1 member placed on the ladder from the project's history. Try /rank!"]
    assert world.discord.edits == ["2 members placed on the ladder from the project's history. Try /rank!"]
    assert not any("Priest in training!" in text for text in world.ladder_posts())


async def test_events_logged_before_the_ladder_first_ran_are_history(db: Database, clock: ManualClock) -> None:
    async with running(db, clock, make_settings(enabled=False)) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
    settings = make_settings()
    w = World(db, clock, settings)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM event_cursors WHERE consumer = 'ladder'")  # as if the ladder were new
    clock.advance(5)
    await w.ladder.prepare()
    await w.ledger.go_live()
    w.discord.join(A, clock.now() - timedelta(days=3))
    await w.bus.start()
    try:
        await w.settle()
        assert w.discord.roles(A) == {FOLLOWER, TRAINEE}
        assert w.ladder_posts() == ["1 member placed on the ladder from the project's history. Try /rank!"]
        await w.link(B, BOB)
        assert w.ladder_posts()[-1] == f"<@{B}> is now a Follower!"
    finally:
        await w.bus.stop()


# Approval ------------------------------------------------------------------------------------------------------


def approval_tiers() -> list[dict[str, Any]]:
    return [*TIERS[:2], {**TIERS[2], "approval": True}]


async def test_approval_tier_is_proposed_and_granted_only_after_a_maintainer_approves(
    db: Database, clock: ManualClock
) -> None:
    async with running(db, clock, make_settings(approval_tiers())) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
        await w.merge(BOB, by=ALICE)
        await w.merge(Actor(44, "carol"), by=ALICE)
        assert PRIEST not in w.discord.roles(A)
        (request,) = await w.requests()
        assert request["status"] == "pending"
        proposals = [text for channel, text in w.discord.posts if channel == MAINTAINERS]
        assert len(proposals) == 1 and "qualifies for **Priest**" in proposals[0]
        assert (await w.ladder.progress(GUILD, A)).awaiting_approval
        decision = await w.ladder.decide(GUILD, request["id"], approve=True, by=1)
        await w.dispatcher.run_once()
        assert decision.promoted and "approved" in decision.text
        assert PRIEST in w.discord.roles(A)
        assert w.ladder_posts()[-1] == f"<@{A}> is now a Priest!"
        with pytest.raises(UserFacingError, match="already approved"):
            await w.ladder.decide(GUILD, request["id"], approve=False, by=1)


async def test_declined_promotion_is_never_granted_nor_asked_again(db: Database, clock: ManualClock) -> None:
    async with running(db, clock, make_settings(approval_tiers())) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
        await w.merge(BOB, by=ALICE)
        (request,) = await w.requests()
        await w.ladder.decide(GUILD, request["id"], approve=False, by=1)
        await w.merge(Actor(44, "carol"), by=ALICE)
        await w.reconcile()
        assert PRIEST not in w.discord.roles(A)
        assert len(await w.requests()) == 1
        assert (await w.ladder.progress(GUILD, A)).missing == ("a maintainer's approval (declined)",)


# Unlinking -----------------------------------------------------------------------------------------------------


async def test_unlinking_removes_the_roles_the_link_earned_and_its_grants(world: World) -> None:
    await world.link(A, ALICE)
    await world.merge(ALICE)
    await world.unlink(A, ALICE)
    assert world.discord.roles(A) == set()
    assert await world.db.fetchval("SELECT COUNT(*) FROM tier_grants") == 0
    await world.link(A, ALICE)
    assert world.discord.roles(A) == {FOLLOWER, TRAINEE}
    assert world.ladder_posts().count(f"<@{A}> is now a Priest in training!") == 1


# Reconcile -----------------------------------------------------------------------------------------------------


async def test_recompute_gives_back_a_role_removed_by_hand(db: Database, clock: ManualClock) -> None:
    async with running(db, clock, make_settings(demotion="recompute")) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
        w.discord.take(A, TRAINEE)
        report = await w.reconcile()
        assert w.discord.roles(A) == {FOLLOWER, TRAINEE} and report.added == 1


async def test_sticky_leaves_a_role_removed_by_hand_off(world: World) -> None:
    await world.link(A, ALICE)
    await world.merge(ALICE)
    world.discord.take(A, TRAINEE)
    report = await world.reconcile()
    assert world.discord.roles(A) == {FOLLOWER} and report.added == 0


@pytest.mark.parametrize("demotion", ["sticky", "recompute"])
async def test_member_who_left_and_came_back_gets_their_roles_back(
    db: Database, clock: ManualClock, demotion: str
) -> None:
    async with running(db, clock, make_settings(demotion=demotion)) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
        del w.discord.members[A]
        report = await w.reconcile()
        assert report.absent == 1
        clock.advance(60)
        w.discord.join(A, clock.now())
        await w.reconcile()
        assert w.discord.roles(A) == {FOLLOWER, TRAINEE}
        w.discord.take(A, TRAINEE)
        await w.reconcile()
        assert (TRAINEE in w.discord.roles(A)) is (demotion == "recompute")


async def test_a_member_who_joins_again_gets_their_roles_back_without_waiting_for_reconcile(world: World) -> None:
    await world.link(A, ALICE)
    world.clock.advance(60)
    world.discord.join(A, world.clock.now())
    await world.ladder.member_joined(A, MemberState(frozenset(), world.clock.now()))
    await world.settle()
    assert world.discord.roles(A) == {FOLLOWER}


async def test_role_the_bot_cannot_manage_is_reported_and_retried_once_fixed(world: World) -> None:
    world.discord.unmanageable.add(TRAINEE)
    await world.link(A, ALICE)
    await world.link(B, BOB)
    await world.merge(ALICE)
    await world.merge(BOB)
    assert world.discord.roles(A) == {FOLLOWER} and world.discord.roles(B) == {FOLLOWER}
    assert world.ladder_posts().count(f"<@{B}> is now a Priest in training!") == 1
    report = await world.reconcile()
    assert report.problems == [f"role {TRAINEE} is above the bot's; 2 member(s) wait for it"]
    assert await world.db.fetchval("SELECT COUNT(*) FROM outbox WHERE failed = 1") == 2
    world.discord.unmanageable.clear()
    await world.reconcile()
    assert world.discord.roles(A) == {FOLLOWER, TRAINEE} and world.discord.roles(B) == {FOLLOWER, TRAINEE}


async def test_reconcile_places_members_the_ladder_never_saw_silently(db: Database, clock: ManualClock) -> None:
    async with running(db, clock, make_settings(enabled=False)) as w:
        await w.link(A, ALICE)
        await w.merge(ALICE)
    async with running(db, clock, make_settings()) as w:
        w.discord.join(A, clock.now() - timedelta(days=3))
        report = await w.reconcile()
        assert report.placed == 1 and w.discord.roles(A) == {FOLLOWER, TRAINEE}
        assert w.ladder_posts() == ["1 member placed on the ladder from the project's history. Try /rank!"]


async def test_recompute_demotes_when_a_windowed_criterion_lapses_and_sticky_does_not(
    db: Database, clock: ManualClock
) -> None:
    tiers = [{"name": "Active", "role_id": 3201, "criteria": {"merged_prs": 1, "window": "30d"}}]
    for demotion, kept in (("sticky", True), ("recompute", False)):
        async with running(db, clock, make_settings(tiers, demotion=demotion)) as w:
            member = 600 if kept else 601
            who = Actor(90 if kept else 91, f"dev{member}")
            await w.link(member, who)
            await w.merge(who)
            assert w.discord.roles(member) == {3201}
            clock.advance(31 * 86400)
            await w.reconcile()
            assert (3201 in w.discord.roles(member)) is kept


class Silent:
    """A server that never answers member requests."""

    batch_size = 1

    def __init__(self) -> None:
        self.asked = 0

    async def states_of(self, discord_ids: Sequence[int]) -> dict[int, MemberState]:
        self.asked += 1
        raise TimeoutError

    def role_problem(self, role_id: int) -> str | None:
        return None


async def test_reconcile_stops_after_three_batches_discord_does_not_answer(world: World) -> None:
    for index in range(5):
        await world.link(700 + index, Actor(70 + index, f"dev{index}"))
    silent = Silent()
    report = await world.ladder.reconcile(silent)
    assert (silent.asked, report.failed, report.checked, report.stopped) == (3, 3, 0, True)


async def test_reconcile_reads_members_in_batches_and_only_repairs_the_drift(db: Database, clock: ManualClock) -> None:
    async with running(db, clock, make_settings(demotion="recompute")) as w:
        for index in range(5):
            await w.link(700 + index, Actor(70 + index, f"dev{index}"))
        w.discord.take(702, FOLLOWER)
        pending = await w.db.fetchval("SELECT COUNT(*) FROM outbox")
        report = await w.ladder.reconcile(w.discord)
        assert (report.batches, report.checked, report.added, report.removed) == (3, 5, 1, 0)
        assert await w.db.fetchval("SELECT COUNT(*) FROM outbox") == pending + 1  # nothing for the other four
        await w.dispatcher.run_once()
        assert all(FOLLOWER in w.discord.roles(700 + index) for index in range(5))


# /rank ---------------------------------------------------------------------------------------------------------


async def test_progress_says_exactly_what_is_missing(db: Database, clock: ManualClock) -> None:
    tiers = [TIERS[0], {"name": "Priest in training", "role_id": TRAINEE, "criteria": {"merged_prs": 3}}]
    async with running(db, clock, make_settings(tiers)) as w:
        unlinked = await w.ladder.progress(GUILD, A)
        assert not unlinked.linked and unlinked.next == "Follower"
        await w.link(A, ALICE)
        await w.merge(ALICE)
        progress = await w.ladder.progress(GUILD, A)
        assert (progress.current, progress.next, progress.missing) == (
            "Follower",
            "Priest in training",
            ("2 more merged PRs",),
        )
        assert progress.contributions.merged_prs == 1
        await w.merge(ALICE)
        await w.merge(ALICE)
        top = await w.ladder.progress(GUILD, A)
        assert top.current == "Priest in training" and top.next is None and "top" in top.summary


def test_missing_words_each_criterion_and_its_window() -> None:
    criteria = (
        make_settings(
            [{"name": "X", "role_id": 3301, "criteria": {"reviews": 2, "merges": 1, "starred": True, "window": "365d"}}]
        )
        .ladder.tiers[0]
        .criteria
    )
    assert missing(criteria, Contributions(reviews=1), True) == [
        "star one of the project's repositories",
        "1 more review in the last 365 days",
        "1 more merge of someone else's PR in the last 365 days",
    ]
    assert describe_window(timedelta(hours=12)) == " in the last 12 hours"


# Leaderboard ---------------------------------------------------------------------------------------------------


async def test_leaderboard_ranks_pages_and_shows_the_viewer_off_the_page(world: World) -> None:
    for i in range(12):
        author = Actor(100 + i, f"dev{i:02d}")
        for _ in range(i + 1):
            await world.merge(author)
    await world.merge(Actor(300, "dependabot[bot]", is_bot=True))
    await world.link(A, Actor(100, "dev00"))
    board = await world.ladder.leaderboard.board(GUILD, "merged_prs", "all", 0, A)
    assert (board.total, board.pages) == (12, 2)
    assert [(e.rank, e.login, e.count) for e in board.entries[:2]] == [(1, "dev11", 12), (2, "dev10", 11)]
    assert board.viewer is not None and (board.viewer.rank, board.viewer.count) == (12, 1)
    assert board.viewer.discord_id == A
    last = await world.ladder.leaderboard.board(GUILD, "merged_prs", "all", 5, B)
    assert last.page == 1 and len(last.entries) == 2 and last.viewer is None and not last.viewer_linked


async def test_leaderboard_period_counts_only_recent_work_and_merges_exclude_own_prs(world: World) -> None:
    old = world.clock.now() - timedelta(days=40)
    await world.merge(ALICE, by=BOB, source="backfill", when=old)
    await world.merge(ALICE, by=BOB)
    await world.merge(BOB, by=BOB)
    month = await world.ladder.leaderboard.board(GUILD, "merged_prs", "month", 0, A)
    assert [(e.login, e.count) for e in month.entries] == [("alice", 1), ("bob", 1)]
    merges = await world.ladder.leaderboard.board(GUILD, "merges", "all", 0, A)
    assert [(e.login, e.count) for e in merges.entries] == [("bob", 2)]


async def test_kudos_leaderboard_ranks_members(world: World) -> None:
    async with world.db.transaction() as conn:
        for receiver in (A, A, B):
            await conn.execute(
                "INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, at) VALUES (?, 9, ?, ?)",
                (GUILD, receiver, iso(world.clock.now())),
            )
    board = await world.ladder.leaderboard.board(GUILD, "kudos", "week", 0, B)
    assert [(e.discord_id, e.count) for e in board.entries] == [(A, 2), (B, 1)]
    assert board.viewer is not None and board.viewer.rank == 2


def test_category_and_period_options_accept_names_and_reject_others_clearly() -> None:
    assert parse_category("merged PRs") == "merged_prs" and parse_category(None) == "merged_prs"
    assert parse_category("Issues closed") == "issues_closed" and parse_period("all time") == "all"
    with pytest.raises(UserFacingError, match="choose one of"):
        parse_category("commits")
    with pytest.raises(UserFacingError, match="week, month, year, all time"):
        parse_period("decade")


@pytest.mark.parametrize("category", ["merged_prs", "reviews", "merges", "issues_closed", "kudos"])
@pytest.mark.parametrize("period", ["week", "all"])
async def test_leaderboard_queries_read_through_an_index(world: World, category: str, period: str) -> None:
    since = None if period == "all" else iso(world.clock.now())
    sql, params = world.ladder.leaderboard._ranked(category, GUILD, since)
    plan = await world.db.fetchall(f"EXPLAIN QUERY PLAN {sql} SELECT COUNT(*) FROM ranked", params)
    details = " | ".join(str(row["detail"]) for row in plan)
    # The GitHub categories read bot/counting.py's views, whose tables are aliased p (pull requests), r, i.
    source = {"merged_prs": "p", "merges": "p", "issues_closed": "i"}.get(
        category, "peer_kudos" if category == "kudos" else "r"
    )
    used = re.search(rf"(?:SCAN|SEARCH) {source} USING (?:COVERING )?INDEX (\w+)", details)
    assert used is not None, details
    assert ("_time" in used.group(1)) is (period == "week"), details
