"""Recognition: first merged PRs exactly once, milestones, other firsts, bursts, claims, kudos, profiles."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import domain
from bot import events as ev
from bot.clock import ManualClock
from bot.config import Settings, parse_settings
from bot.db import Database
from bot.errors import UserFacingError
from bot.events import EventBus, append_event
from bot.i18n import Lang
from bot.ledger import Actor, IssueFact, Ledger, PullFact, ReviewFact, Source
from bot.messages import OutMessage
from bot.services.recognition import MemberRef, Recognition, kudos_message
from bot.services.recognition.peer import parse_kind
from bot.services.recognition.render import combined_post, fill, ordinal, single_post, split_burst
from bot.timeutil import iso

GUILD, KUDOS_CHANNEL = 1000, 2000
REPO, OTHER_REPO = "acme/app", "acme/lib"
MAINTAINER = Actor(1, "maintainer")
SEEDED = {"first-pr:2", "first-merge:1"}  # the history every test world starts with


def make_settings(**kudos: Any) -> Settings:
    """Settings for one guild with a kudos channel and a two-tier ladder."""
    data: dict[str, Any] = {
        "discord": {"guild_id": GUILD, "channels": {"kudos": KUDOS_CHANNEL}},
        "github": {"repositories": [REPO, OTHER_REPO]},
        "kudos": kudos,
        "ladder": {
            "tiers": [
                {"name": "Novice", "role_id": 3001, "criteria": {"merged_prs": 1}},
                {"name": "Priest", "role_id": 3002, "criteria": {"merges": 1}},
            ]
        },
    }
    if kudos.pop("no_channel", False):
        data["discord"]["channels"] = {}
    return parse_settings(data)


class World:
    """A ledger, an event bus and the Recognition consumer on a real database."""

    def __init__(self, db: Database, clock: ManualClock, settings: Settings, ignored: tuple[str, ...] = ()) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.bus = EventBus(db, clock)
        self.ledger = Ledger(db, clock, ignored)
        self.recognition = Recognition(db, clock, settings)
        self.bus.subscribe(self.recognition)
        self.number = 0

    async def merge(
        self,
        author: Actor,
        *,
        repo: str = REPO,
        by: Actor = MAINTAINER,
        source: Source = "webhook",
        when: datetime | None = None,
        number: int | None = None,
        title: str = "Fix the docs",
    ) -> int:
        """Apply one merged pull request and let the consumer see it."""
        fact, number = self.pull(author, repo=repo, by=by, when=when, number=number, title=title)
        await self.ledger.apply([fact], source)
        await self.bus.drain()
        return number

    def pull(
        self,
        author: Actor,
        *,
        repo: str = REPO,
        by: Actor = MAINTAINER,
        when: datetime | None = None,
        number: int | None = None,
        title: str = "Fix the docs",
    ) -> tuple[PullFact, int]:
        """Build a merged pull request fact."""
        if number is None:
            self.number += 1
            number = self.number
        merged_at = when or self.clock.now()
        url = f"https://github.com/{repo}/pull/{number}"
        fact = PullFact(repo, number, title, url, author, "merged", merged_at=merged_at, merged_by=by)
        return fact, number

    async def link(self, discord_id: int, github: Actor) -> None:
        """Link a member the way the linking service does: the row and its event, in one transaction."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) VALUES (?,?,?,?,?,?)",
                (GUILD, discord_id, github.id, github.login, "admin", iso(now)),
            )
            payload = {"guild_id": GUILD, "discord_id": discord_id, "github_id": github.id, "login": github.login}
            await append_event(conn, domain.decode(domain.MemberLinked.KIND, payload), historical=False, now=now)
        await self.bus.drain()

    async def unlink(self, discord_id: int, github: Actor) -> None:
        """Unlink a member the way the linking service does."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM links WHERE guild_id = ? AND discord_id = ?", (GUILD, discord_id))
            payload = {"guild_id": GUILD, "discord_id": discord_id, "github_id": github.id}
            await append_event(
                conn, domain.decode(domain.MemberUnlinked.KIND, payload), historical=False, now=self.clock.now()
            )
        await self.bus.drain()

    async def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Return the outbox rows in order, with their payloads decoded."""
        rows = await self.db.fetchall("SELECT dedupe_key, kind, payload FROM outbox ORDER BY id")
        out = [{"key": r["dedupe_key"], "kind": r["kind"], **json.loads(r["payload"])} for r in rows]
        return [row for row in out if kind is None or row["kind"] == kind]

    async def posts(self) -> list[OutMessage]:
        """Return the channel posts queued so far."""
        return [OutMessage.from_json(row["message"]) for row in await self.outbox("message")]

    async def celebrations(self, prefix: str = "") -> list[str]:
        """Return the celebration keys recorded, in order."""
        rows = await self.db.fetchall(
            "SELECT key FROM celebrations WHERE guild_id = ? AND key LIKE ? ORDER BY rowid", (GUILD, prefix + "%")
        )
        return [str(r["key"]) for r in rows if r["key"] not in SEEDED]


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> AsyncIterator[World]:
    """The default world: project scope, other firsts on, burst size 3."""
    built = await started(db, clock, make_settings())
    yield built
    await built.bus.stop()
    await built.recognition.stop()


async def started(db: Database, clock: ManualClock, settings: Settings, ignored: tuple[str, ...] = ()) -> World:
    """Build and start a world with other settings (the caller stops its bus)."""
    built = World(db, clock, settings, ignored)
    await built.ledger.go_live()
    await built.bus.start()
    # The maintainer has merged others' work long before: their merges are not firsts in these tests.
    await built.merge(Actor(2, "old-timer"), source="backfill", when=clock.now() - timedelta(days=1000), number=9999)
    return built


def texts(posts: list[OutMessage]) -> list[str]:
    """Return each post's content."""
    return [post.content for post in posts]


# First merged pull request ------------------------------------------------------------------------------------


async def test_first_merged_pr_is_announced_with_author_pr_link_and_claim_button(world: World) -> None:
    newcomer = Actor(42, "dev42", avatar_url="https://avatars.example/42")
    await world.merge(newcomer, title="Fix *all* the typos")
    (row,) = await world.outbox("message")
    assert row["key"] == f"first-pr:{GUILD}:42"
    assert row["channel_id"] == KUDOS_CHANNEL
    post = OutMessage.from_json(row["message"])
    assert "dev42" in post.content and "acme/app" in post.content
    embed = post.embeds[0]
    assert embed["url"] == "https://github.com/acme/app/pull/1"
    assert embed["title"] == "Fix \\*all\\* the typos"
    assert embed["thumbnail"]["url"] == "https://avatars.example/42"
    assert embed["description"] == "In acme/app, merged by maintainer"  # the title says which PR, once
    assert [(b.label, b.custom_id) for b in post.buttons] == [("This is me", "link:claim:42")]
    assert post.mention_users == ()


async def test_second_merge_by_the_same_author_is_not_announced(world: World) -> None:
    dev = Actor(42, "dev42")
    await world.merge(dev)
    world.clock.advance(60)
    await world.merge(dev)
    assert len(await world.posts()) == 1


async def test_redelivered_and_polled_merge_announces_nothing_more(world: World) -> None:
    fact, _ = world.pull(Actor(42, "dev42"))
    await world.ledger.apply([fact], "webhook")
    await world.ledger.apply([fact], "webhook")
    await world.ledger.apply([fact], "poll")
    await world.bus.drain()
    assert len(await world.posts()) == 1


async def test_backfilled_history_is_never_announced_and_makes_later_merges_not_first(world: World) -> None:
    veteran = Actor(7, "veteran")
    await world.merge(veteran, source="backfill", when=world.clock.now() - timedelta(days=400))
    assert await world.posts() == []
    assert await world.celebrations("first-pr") == ["first-pr:7"]
    await world.merge(veteran)
    assert await world.posts() == []


async def test_polled_merge_from_before_go_live_is_history(world: World) -> None:
    await world.merge(Actor(7, "old"), source="poll", when=world.clock.now() - timedelta(days=3))
    assert await world.posts() == []


async def test_bots_and_ignored_accounts_are_never_celebrated(db: Database, clock: ManualClock) -> None:
    w = await started(db, clock, make_settings(), ignored=("ignored-human",))
    try:
        await w.merge(Actor(50, "renovate[bot]"))
        await w.merge(Actor(51, "helper", is_bot=True))
        await w.merge(Actor(52, "ignored-human"))
        await w.merge(Actor(53, "person"), by=Actor(54, "merge-bot", is_bot=True))
        assert [p.embeds[0]["author"]["name"] for p in await w.posts()] == ["person"]
        assert await w.celebrations() == ["first-pr:53"]
    finally:
        await w.bus.stop()


async def test_late_arriving_earlier_pr_does_not_produce_a_second_first_post(world: World) -> None:
    dev = Actor(42, "dev42")
    now = world.clock.now()
    await world.merge(dev, when=now)
    await world.merge(dev, when=now - timedelta(hours=5))
    assert len(await world.posts()) == 1


async def test_a_late_earlier_pr_arriving_in_a_burst_does_not_welcome_its_author_again(world: World) -> None:
    dev = Actor(42, "dev42")
    now = world.clock.now()
    await world.merge(dev, when=now)
    late, _ = world.pull(dev, when=now - timedelta(hours=5))
    others = [world.pull(Actor(100 + i, f"new{i}"))[0] for i in range(4)]
    await world.ledger.apply([late, *others], "webhook")
    await world.bus.drain()
    combined = OutMessage.from_json((await world.outbox("message"))[-1]["message"])
    names = [field["name"].split(" · ")[0] for field in combined.embeds[0]["fields"]]
    assert names == [f"new{i}" for i in range(4)]


async def test_the_earliest_merge_is_the_one_announced_when_a_later_one_is_seen_first(world: World) -> None:
    dev, now = Actor(42, "dev42"), world.clock.now()
    later, _ = world.pull(dev, when=now, title="Second")
    earlier, _ = world.pull(dev, when=now - timedelta(hours=1), title="First")
    await world.ledger.apply([later, earlier], "webhook")
    await world.bus.drain()
    (post,) = await world.posts()
    assert post.embeds[0]["title"] == "First"


async def test_replaying_a_handled_batch_posts_nothing_twice(world: World) -> None:
    await world.merge(Actor(42, "dev42"))
    rows = await world.db.fetchall("SELECT seq, kind, payload, historical, created_at FROM events")
    events = ev.decode_rows(rows, world.clock)
    async with world.db.transaction() as conn:
        await world.recognition.handle(conn, events)
    assert len(await world.outbox()) == 1


async def test_repository_scope_celebrates_the_first_pr_in_each_repository(db: Database, clock: ManualClock) -> None:
    w = await started(db, clock, make_settings(scope="repository"))
    try:
        dev = Actor(42, "dev42")
        await w.merge(dev, repo=REPO)
        await w.merge(dev, repo=OTHER_REPO)
        await w.merge(dev, repo=OTHER_REPO)
        assert [r["key"] for r in await w.outbox()] == [
            f"first-pr:{GUILD}:{REPO}:42",
            f"first-pr:{GUILD}:{OTHER_REPO}:42",
        ]
    finally:
        await w.bus.stop()


async def test_project_scope_does_not_celebrate_a_first_pr_in_a_second_repository(world: World) -> None:
    dev = Actor(42, "dev42")
    await world.merge(dev, repo=REPO)
    await world.merge(dev, repo=OTHER_REPO)
    assert len(await world.posts()) == 1


async def test_nothing_is_posted_without_a_kudos_channel_but_the_decision_is_kept(
    db: Database, clock: ManualClock
) -> None:
    w = await started(db, clock, make_settings(no_channel=True))
    try:
        await w.merge(Actor(42, "dev42"))
        assert await w.outbox() == []
        assert await w.celebrations() == ["first-pr:42"]
    finally:
        await w.bus.stop()


# Bursts ---------------------------------------------------------------------------------------------------------


async def test_a_burst_of_first_prs_in_one_batch_becomes_combined_posts_celebrating_each_once(world: World) -> None:
    facts = [world.pull(Actor(100 + i, f"new{i}"))[0] for i in range(12)]
    await world.ledger.apply(facts, "webhook")
    await world.bus.drain()
    rows = await world.outbox("message")
    assert [row["key"].split(":")[0] for row in rows] == ["kudos-batch", "kudos-batch"]
    posts = [OutMessage.from_json(row["message"]) for row in rows]
    names = [field["name"].split(" · ")[0] for post in posts for field in post.embeds[0]["fields"]]
    assert sorted(names) == sorted(f"new{i}" for i in range(12))
    assert [len(post.embeds[0]["fields"]) for post in posts] == [6, 6]
    assert len(posts[0].buttons) == 6 and posts[0].buttons[0].custom_id == "link:claim:100"
    firsts = await world.db.fetchall("SELECT post_key FROM celebrations WHERE key LIKE 'first-pr:1__'")
    assert len(firsts) == 12 and {r["post_key"] for r in firsts} == {row["key"] for row in rows}


async def test_a_batch_no_bigger_than_the_burst_size_gets_one_post_each(world: World) -> None:
    facts = [world.pull(Actor(100 + i, f"new{i}"))[0] for i in range(3)]
    await world.ledger.apply(facts, "webhook")
    await world.bus.drain()
    assert [row["key"] for row in await world.outbox()] == [f"first-pr:{GUILD}:{100 + i}" for i in range(3)]


def test_a_burst_is_split_into_nearly_equal_posts_of_at_most_ten() -> None:
    assert [len(part) for part in split_burst(list(range(25)))] == [9, 8, 8]  # type: ignore[arg-type]
    assert [len(part) for part in split_burst(list(range(10)))] == [10]  # type: ignore[arg-type]
    assert split_burst([]) == []


async def drain_channel(world: World) -> None:
    """Mark every queued post as posted, as the dispatcher would once Discord let it."""
    await world.db.execute("UPDATE outbox SET done_at = ? WHERE done_at IS NULL", (iso(world.clock.now()),))


async def test_while_the_kudos_channel_is_backed_up_new_firsts_are_held_then_combined(world: World) -> None:
    for i in range(3):
        await world.merge(Actor(100 + i, f"new{i}"))
    assert len(await world.posts()) == 3  # posted one by one: nothing waits long yet
    world.clock.advance(10)  # Discord has let none of them out for 10 s: the channel is backed up
    for i in range(3, 8):
        await world.merge(Actor(100 + i, f"new{i}"))
    assert len(await world.posts()) == 3
    held = json.loads(await world.db.fetchval("SELECT value FROM state WHERE key = ?", (f"kudos:held:{GUILD}",)))
    assert [item["github_id"] for item in held] == [103, 104, 105, 106, 107]
    await drain_channel(world)
    await world.merge(Actor(108, "new8"))  # the next first after the channel drained takes the held ones along
    rows = await world.outbox("message")
    assert [row["key"].split(":")[0] for row in rows[3:]] == ["kudos-batch"]
    fields = OutMessage.from_json(rows[3]["message"]).embeds[0]["fields"]
    assert [field["name"].split(" · ")[0] for field in fields] == [f"new{i}" for i in range(3, 9)]
    assert await world.db.fetchval("SELECT COUNT(*) FROM state WHERE key LIKE 'kudos:held:%'") == 0
    firsts = await world.db.fetchall("SELECT key, post_key FROM celebrations WHERE key LIKE 'first-pr:1__'")
    assert {r["post_key"] for r in firsts if r["key"] >= "first-pr:103"} == {rows[3]["key"]}


async def test_held_celebrations_are_released_by_themselves_once_the_channel_drains(world: World) -> None:
    for i in range(3):
        await world.merge(Actor(100 + i, f"new{i}"))
    world.clock.advance(10)
    for i in range(3, 7):
        await world.merge(Actor(100 + i, f"new{i}"))
    assert len(await world.posts()) == 3
    await drain_channel(world)
    for _ in range(100):  # the release loop looks every second
        if len(await world.posts()) == 4:
            break
        await asyncio.sleep(0.05)
    rows = await world.outbox("message")
    assert len(rows) == 4 and rows[3]["key"].startswith("kudos-batch:")


# Milestones and other firsts ------------------------------------------------------------------------------------


async def test_the_tenth_merged_pr_is_a_milestone_celebrated_once(world: World) -> None:
    dev = Actor(42, "dev42")
    start = world.clock.now()
    for i in range(11):
        await world.merge(dev, when=start + timedelta(minutes=i))
    keys = [row["key"] for row in await world.outbox()]
    assert keys == [f"first-pr:{GUILD}:42", f"milestone:{GUILD}:10:42"]
    milestone = (await world.posts())[1]
    assert "10th pull request" in milestone.content


async def test_milestones_reached_in_backfilled_history_are_not_announced(world: World) -> None:
    dev = Actor(42, "dev42")
    old = world.clock.now() - timedelta(days=100)
    facts = [world.pull(dev, when=old + timedelta(days=i))[0] for i in range(12)]
    await world.ledger.apply(facts, "backfill")
    await world.bus.drain()
    await world.merge(dev)
    assert await world.outbox() == []
    assert "milestone:10:42" in await world.celebrations()


async def test_first_review_first_issue_closed_and_first_merge_of_others_are_each_celebrated_once(
    world: World,
) -> None:
    author, reviewer, closer = Actor(42, "author"), Actor(43, "reviewer"), Actor(44, "closer")
    await world.link(743, reviewer)
    await world.link(744, closer)
    number = await world.merge(author, by=reviewer)
    await world.merge(author, by=reviewer)
    now = world.clock.now()
    reviews = [ReviewFact(900 + i, REPO, number, reviewer, "APPROVED", now + timedelta(seconds=i)) for i in range(2)]
    await world.ledger.apply(reviews, "webhook")
    issues = [
        IssueFact(
            REPO,
            50 + i,
            f"Bug {i}",
            f"https://github.com/{REPO}/issues/{50 + i}",
            author,
            "closed",
            closed_at=now + timedelta(seconds=i),
            closed_by=closer,
            state_reason="completed",
        )
        for i in range(2)
    ]
    await world.ledger.apply(issues, "webhook")
    await world.bus.drain()
    keys = [row["key"].split(":")[0] for row in await world.outbox()]
    assert keys == ["first-pr", "first-merge", "first-review", "first-issue-closed"]
    merge_post = (await world.posts())[1]
    assert "reviewer" in merge_post.embeds[0]["author"]["name"] and "author" in merge_post.embeds[0]["description"]


async def test_other_firsts_of_unlinked_accounts_are_recorded_but_not_announced(world: World) -> None:
    author, merger = Actor(42, "author"), Actor(43, "unlinked-maintainer")
    await world.merge(author, by=merger)
    assert [row["key"].split(":")[0] for row in await world.outbox()] == ["first-pr"]
    assert "first-merge:43" in await world.celebrations()
    await world.link(743, merger)
    await world.merge(Actor(45, "second"), by=merger)
    assert [row["key"].split(":")[0] for row in await world.outbox()] == ["first-pr", "first-pr"]


async def test_self_review_and_not_planned_closes_are_not_firsts(world: World) -> None:
    author = Actor(42, "author")
    await world.link(742, author)
    number = await world.merge(author)
    await world.ledger.apply([ReviewFact(900, REPO, number, author, "COMMENTED", world.clock.now())], "webhook")
    issue = IssueFact(
        REPO,
        5,
        "Nope",
        "u",
        author,
        "closed",
        closed_at=world.clock.now(),
        closed_by=author,
        state_reason="not_planned",
    )
    await world.ledger.apply([issue], "webhook")
    await world.bus.drain()
    assert [row["key"].split(":")[0] for row in await world.outbox()] == ["first-pr"]


async def test_other_firsts_can_be_turned_off(db: Database, clock: ManualClock) -> None:
    w = await started(db, clock, make_settings(other_firsts=False))
    try:
        await w.link(743, Actor(43, "merger"))
        await w.merge(Actor(42, "author"), by=Actor(43, "merger"))
        assert [row["key"].split(":")[0] for row in await w.outbox()] == ["first-pr"]
    finally:
        await w.bus.stop()


# "This is me": linking edits the announcement ------------------------------------------------------------------


async def test_linking_edits_the_announcement_to_mention_the_member_and_drop_the_button(world: World) -> None:
    dev = Actor(42, "dev42")
    await world.merge(dev)
    await world.link(777, dev)
    (edit,) = await world.outbox("message_edit")
    assert edit["target_key"] == f"first-pr:{GUILD}:42"
    message = OutMessage.from_json(edit["message"])
    assert "<@777>" in message.content and message.buttons == () and message.mention_users == (777,)


async def test_unlinking_puts_the_login_and_the_button_back(world: World) -> None:
    dev = Actor(42, "dev42")
    await world.merge(dev)
    await world.link(777, dev)
    await world.unlink(777, dev)
    linked, unlinked = (OutMessage.from_json(edit["message"]) for edit in await world.outbox("message_edit"))
    assert "<@777>" in linked.content
    assert "<@777>" not in unlinked.content and "dev42" in unlinked.content
    assert [b.custom_id for b in unlinked.buttons] == ["link:claim:42"] and unlinked.mention_users == ()


async def test_linking_someone_in_a_combined_post_re_renders_the_whole_post(world: World) -> None:
    facts = [world.pull(Actor(100 + i, f"new{i}"))[0] for i in range(5)]
    await world.ledger.apply(facts, "webhook")
    await world.bus.drain()
    (post_row,) = await world.outbox("message")
    await world.link(777, Actor(102, "new2"))
    (edit,) = await world.outbox("message_edit")
    assert edit["target_key"] == post_row["key"]
    message = OutMessage.from_json(edit["message"])
    assert len(message.embeds[0]["fields"]) == 5
    assert "<@777>" in message.content and "new0" in message.content
    assert [b.custom_id for b in message.buttons] == [f"link:claim:{100 + i}" for i in (0, 1, 3, 4)]


async def test_linking_someone_without_announcements_edits_nothing(world: World) -> None:
    await world.link(777, Actor(99, "quiet"))
    assert await world.outbox() == []


async def test_a_linked_author_is_mentioned_and_thanked_by_dm_when_asked(db: Database, clock: ManualClock) -> None:
    w = await started(db, clock, make_settings(dm_author=True))
    try:
        dev = Actor(42, "dev42")
        await w.link(777, dev)
        await w.merge(dev)
        post, dm = await w.outbox()
        message = OutMessage.from_json(post["message"])
        assert message.content.startswith("Welcome aboard, <@777>!") and message.mention_users == (777,)
        assert message.buttons == ()
        assert dm["kind"] == "dm" and dm["user_id"] == 777
        assert "Next step on the ladder: **Priest**" in OutMessage.from_json(dm["message"]).content
    finally:
        await w.bus.stop()


# Rendering -------------------------------------------------------------------------------------------------------


def test_templates_are_filled_by_name_only() -> None:
    assert fill("{author} did {count}", {"author": "a", "count": "3"}, "x") == "a did 3"
    assert fill("{author.__class__}", {"author": "a"}, "fallback {author}") == "fallback a"
    assert fill("{author:{count.__doc__}}", {"author": "a", "count": "3"}, "fallback {author}") == "fallback a"
    assert fill("{author[0]} {0}", {"author": "a"}, "fallback {author}") == "fallback a"


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 100, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "100th",
        "101st",
    ]


def test_github_text_cannot_ping_anyone() -> None:
    from bot.services.recognition.models import Celebration

    sneaky = Celebration(kind="first-pr", key="first-pr:1", github_id=1, login="a_b", seq=1, title="@everyone <@&5>")
    for message in (single_post(sneaky, make_settings().kudos), combined_post([sneaky, sneaky])):
        assert message.mention_users == () and message.mention_roles == ()
        assert "@everyone" not in json.dumps(message.to_json())


# /kudos and /recognize -------------------------------------------------------------------------------------------

ALICE, BOB, BOT = MemberRef(1, "alice"), MemberRef(2, "bob"), MemberRef(3, "Vestry", bot=True)


async def test_kudos_is_recorded_counted_and_announces_an_event(world: World) -> None:
    given = await world.recognition.give_kudos(GUILD, ALICE, BOB, "  thanks for the **review** @everyone  ")
    again = await world.recognition.give_kudos(GUILD, ALICE, BOB, None)
    assert (given.total_received, again.total_received) == (1, 2)
    kinds = await world.db.fetchall("SELECT kind FROM events WHERE kind = ?", (domain.KudosGiven.KIND,))
    assert len(kinds) == 2
    message = kudos_message(given)
    assert message.mention_users == (2,)
    assert message.embeds[0]["description"] == "thanks for the \\*\\*review\\*\\* @\u200beveryone"


@pytest.mark.parametrize(
    ("receiver", "reason", "expected"),
    [(ALICE, None, "yourself"), (BOT, None, "Bots"), (BOB, "x" * 301, "300 characters")],
)
async def test_kudos_refuses_self_bots_and_long_reasons(
    world: World, receiver: MemberRef, reason: str | None, expected: str
) -> None:
    with pytest.raises(UserFacingError, match=expected):
        await world.recognition.give_kudos(GUILD, ALICE, receiver, reason)
    assert await world.db.fetchval("SELECT COUNT(*) FROM peer_kudos") == 0


async def test_kudos_over_the_daily_limit_is_refused_until_a_day_has_passed(db: Database, clock: ManualClock) -> None:
    w = await started(db, clock, make_settings(peer_daily_limit=2))
    try:
        await w.recognition.give_kudos(GUILD, ALICE, BOB, None)
        await w.recognition.give_kudos(GUILD, ALICE, MemberRef(4, "carol"), None)
        with pytest.raises(UserFacingError, match="daily limit"):
            await w.recognition.give_kudos(GUILD, ALICE, BOB, None)
        await w.recognition.give_kudos(GUILD, BOB, ALICE, None)  # the limit is per giver
        clock.advance(timedelta(days=1, seconds=1).total_seconds())
        await w.recognition.give_kudos(GUILD, ALICE, BOB, None)
    finally:
        await w.bus.stop()


async def test_recognition_is_recorded_and_posted_in_the_kudos_channel(world: World) -> None:
    given = await world.recognition.recognize(GUILD, ALICE, BOB, "Talk", "https://github.com/talk")
    assert given.kind == "talk" and given.posted
    (row,) = await world.outbox("message")
    assert row["key"] == f"recognition:{GUILD}:{given.id}"
    message = OutMessage.from_json(row["message"])
    assert message.mention_users == (2,) and message.embeds[0]["url"] == "https://github.com/talk"
    assert await world.db.fetchval("SELECT kind FROM recognitions") == "talk"


async def test_recognition_without_a_kudos_channel_is_recorded_for_the_command_to_post(
    db: Database, clock: ManualClock
) -> None:
    w = await started(db, clock, make_settings(no_channel=True))
    try:
        given = await w.recognition.recognize(GUILD, ALICE, BOB, "video", "http://github.com/v")
        assert not given.posted and await w.outbox() == []
        assert await w.db.fetchval("SELECT COUNT(*) FROM recognitions") == 1
    finally:
        await w.bus.stop()


@pytest.mark.parametrize(
    ("typed", "kind"), [("doc", "doc"), ("Docs", "doc"), ("talks", "talk"), ("Blog posts", "blog")]
)
def test_a_kind_may_be_typed_as_its_key_label_or_plural(typed: str, kind: str) -> None:
    assert parse_kind(typed) == kind


@pytest.mark.parametrize(
    ("member", "kind", "link", "expected"),
    [
        (ALICE, "talk", "https://github.com", "yourself"),
        (BOT, "talk", "https://github.com", "Bots"),
        (BOB, "juggling", "https://github.com", "don't know the kind"),
        (BOB, "talk", "ftp://github.com/x", "http"),
        (BOB, "talk", "javascript:alert(1)", "http"),
        (BOB, "talk", "https://exa mple.com", "http"),
        (BOB, "talk", "github.com/talk", "http"),
    ],
)
async def test_recognize_refuses_self_bots_unknown_kinds_and_bad_links(
    world: World, member: MemberRef, kind: str, link: str, expected: str
) -> None:
    with pytest.raises(UserFacingError, match=expected):
        await world.recognition.recognize(GUILD, ALICE, member, kind, link)
    assert await world.db.fetchval("SELECT COUNT(*) FROM recognitions") == 0


# /profile --------------------------------------------------------------------------------------------------------


async def test_profile_of_an_unlinked_member_suggests_link(world: World) -> None:
    with pytest.raises(UserFacingError, match="/link"):
        await world.recognition.profile(GUILD, BOB, viewer_id=ALICE.id)


async def test_profile_shows_contributions_thanks_first_pr_and_ladder_progress(world: World) -> None:
    @dataclass(frozen=True)
    class Progress:
        text: str

        def say(self, speaker: Lang) -> str:
            return f"{self.text} [{speaker.locale}]"

    class FakeLadder:
        async def progress(self, guild_id: int, discord_id: int, speaker: Lang) -> Progress:
            return Progress(f"Novice; 1 merge to Priest ({guild_id}/{discord_id})")

    world.recognition = Recognition(world.db, world.clock, world.settings, ladder=FakeLadder())
    dev = Actor(42, "dev42")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await world.merge(dev, when=start, title="First!")
    await world.merge(dev, when=start + timedelta(days=1))
    await world.link(BOB.id, dev)
    await world.recognition.give_kudos(GUILD, ALICE, BOB, "thanks")
    await world.recognition.recognize(GUILD, ALICE, BOB, "doc", "https://github.com/doc")
    profile = await world.recognition.profile(GUILD, BOB, viewer_id=BOB.id)
    assert (profile.login, profile.merged_prs, profile.kudos) == ("dev42", 2, 1)
    assert profile.recognitions == {"doc": 1}
    assert profile.first_pr is not None and profile.first_pr.title == "First!"
    assert profile.ladder == f"Novice; 1 merge to Priest ({GUILD}/{BOB.id}) [en]"


async def test_kudos_keyed_by_its_interaction_is_recorded_once_with_its_post(world: World) -> None:
    given = await world.recognition.give_kudos(GUILD, ALICE, BOB, "thanks", interaction_id=77, channel_id=5)
    again = await world.recognition.give_kudos(GUILD, ALICE, BOB, "thanks", interaction_id=77, channel_id=5)
    assert not given.repeated and again.repeated and again.total_received == 1
    assert await world.db.fetchval("SELECT COUNT(*) FROM peer_kudos") == 1
    rows = await world.db.fetchall("SELECT dedupe_key, lane, sent_at FROM outbox WHERE kind = 'message'")
    assert [(r["dedupe_key"], r["lane"]) for r in rows] == [(f"kudos:{GUILD}:77", "channel:5")]
    assert rows[0]["sent_at"] is not None, "marked as possibly posted by the answer, so a restart looks first"
    retry = await world.recognition.give_kudos(GUILD, ALICE, BOB, "thanks", interaction_id=78, channel_id=5)
    assert retry.repeated, "the same thanks while its answer has not been recorded is the same kudos"
    await world.db.execute(
        "UPDATE outbox SET done_at = ?, result = ? WHERE dedupe_key = ?",
        ("2026-03-02T12:00:00Z", '{"via": "interaction"}', f"kudos:{GUILD}:77"),
    )
    new = await world.recognition.give_kudos(GUILD, ALICE, BOB, "thanks", interaction_id=79, channel_id=5)
    assert not new.repeated and new.total_received == 2, "once answered, the same words again are a new kudos"


async def test_recognition_keyed_by_its_interaction_is_recorded_once(world: World) -> None:
    link = "https://github.com/sandbox/project/wiki/Talk"
    given = await world.recognition.recognize(GUILD, ALICE, BOB, "talk", link, interaction_id=5, channel_id=9)
    again = await world.recognition.recognize(GUILD, ALICE, BOB, "talk", link, interaction_id=5, channel_id=9)
    assert not given.repeated and again.repeated and again.id == given.id
    assert await world.db.fetchval("SELECT COUNT(*) FROM recognitions") == 1
    assert await world.db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'message'") == 1
