"""The invitation sender: the hourly cap, retries on rate limits and 5xx, failures kept, edits made once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import ManualClock
from bot.config import Settings, parse_settings
from bot.db import Database
from bot.domain import PullOpened
from bot.events import Event
from bot.github.types import GitHubError, GitHubUnavailable, NotFound, RateLimited
from bot.services.invitations import CELEBRATED, InvitationDecider, InvitationSender, marker
from bot.services.invitations.decide import turned_on
from bot.services.invitations.send import MAX_ATTEMPTS
from bot.timeutil import iso, parse_iso

GUILD, REPO = 1000, "acme/app"


def settings(per_hour: int = 20) -> Settings:
    return parse_settings(
        {
            "discord": {"guild_id": GUILD},
            "github": {"repositories": [REPO]},
            "invitations": {"enabled": True, "discord_invite": "https://discord.gg/acme", "per_hour": per_hour},
        }
    )


@dataclass
class Posted:
    id: int
    url: str


@dataclass
class FakeGitHub:
    """Comments kept in memory; ``failures`` are raised, in order, by the next creates."""

    bodies: dict[int, str] = field(default_factory=dict)
    on: dict[int, int] = field(default_factory=dict)
    failures: list[Exception] = field(default_factory=list)
    edits: int = 0

    async def create(self, repo: str, number: int, body: str) -> Posted:
        if self.failures:
            raise self.failures.pop(0)
        comment_id = 100 + len(self.bodies)
        self.bodies[comment_id], self.on[comment_id] = body, number
        return Posted(comment_id, f"https://github.test/{repo}/pull/{number}#issuecomment-{comment_id}")

    async def edit(self, repo: str, comment_id: int, body: str) -> Posted:
        if comment_id not in self.bodies:
            raise NotFound("GitHub answered 404: Not Found", 404)
        self.bodies[comment_id] = body
        self.edits += 1
        return Posted(comment_id, "")

    async def find(self, repo: str, number: int, mark: str) -> Posted | None:
        found = [cid for cid, text in self.bodies.items() if self.on[cid] == number and mark in text]
        return Posted(found[0], "") if found else None


async def invite(db: Database, clock: ManualClock, github_id: int, number: int) -> None:
    now = iso(clock.now())
    await db.execute(
        "INSERT INTO invitations(guild_id, github_id, login, repo, number, created_at, not_before) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (GUILD, github_id, f"dev{github_id}", REPO, number, now, now),
    )


async def states(db: Database) -> list[tuple[str, int]]:
    rows = await db.fetchall("SELECT state, attempts FROM invitations ORDER BY id")
    return [(str(r[0]), int(r[1])) for r in rows]


async def test_no_more_than_per_hour_are_posted_in_an_hour(db: Database, clock: ManualClock) -> None:
    github = FakeGitHub()
    sender = InvitationSender(db, clock, settings(per_hour=2), github)
    for n in range(3):
        await invite(db, clock, 10 + n, n + 1)
    await sender.run_once()
    assert await states(db) == [("sent", 0), ("sent", 0), ("pending", 0)]
    clock.advance(59 * 60)
    await sender.run_once()
    assert len(github.bodies) == 2
    clock.advance(2 * 60)
    await sender.run_once()
    assert await states(db) == [("sent", 0)] * 3
    assert sorted(github.on.values()) == [1, 2, 3]


async def test_rate_limits_and_outages_are_retried_and_a_refusal_fails_for_good(
    db: Database, clock: ManualClock
) -> None:
    reset = clock.now() + timedelta(minutes=10)
    github = FakeGitHub(failures=[RateLimited(reset, secondary=True), GitHubUnavailable("GitHub answered 502", 502)])
    sender = InvitationSender(db, clock, settings(), github)
    await invite(db, clock, 10, 1)
    await sender.run_once()
    assert await states(db) == [("pending", 1)]
    assert await db.fetchval("SELECT not_before FROM invitations") == iso(reset)
    clock.advance(9 * 60)
    await sender.run_once()
    assert await states(db) == [("pending", 1)]
    clock.advance(60)
    await sender.run_once()
    assert await states(db) == [("pending", 2)]
    clock.advance(3600)
    await sender.run_once()
    assert await states(db) == [("sent", 2)] and len(github.bodies) == 1
    github.failures.append(GitHubError("GitHub answered 403: Resource not accessible by integration", 403))
    await invite(db, clock, 11, 2)
    await sender.run_once()
    assert (await states(db))[1] == ("failed", 1)
    assert "not accessible" in await db.fetchval("SELECT last_error FROM invitations WHERE github_id = 11")


async def test_an_outage_that_lasts_ends_the_invitation_as_failed(db: Database, clock: ManualClock) -> None:
    github = FakeGitHub(failures=[GitHubUnavailable("GitHub answered 503", 503) for _ in range(MAX_ATTEMPTS)])
    sender = InvitationSender(db, clock, settings(), github)
    await invite(db, clock, 10, 1)
    for _ in range(MAX_ATTEMPTS):
        await sender.run_once()
        clock.advance(2 * 3600)
    assert await states(db) == [("failed", MAX_ATTEMPTS)]
    assert github.bodies == {}


async def test_a_celebrated_author_gets_one_edit_and_a_linked_one_no_invitation(
    db: Database, clock: ManualClock
) -> None:
    github = FakeGitHub()
    sender = InvitationSender(db, clock, settings(), github)
    await invite(db, clock, 10, 1)
    await sender.run_once()
    await db.execute("UPDATE invitations SET celebrated_at = ?", (iso(clock.now()),))
    await sender.run_once()
    await sender.run_once()
    (text,) = github.bodies.values()
    assert github.edits == 1 and CELEBRATED in text and text.endswith(marker(10))
    await db.execute(
        "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) "
        "VALUES (?, 5, 11, 'dev11', 'oauth', ?)",
        (GUILD, iso(clock.now())),
    )
    await invite(db, clock, 11, 2)
    await sender.run_once()
    assert (await states(db))[1] == ("cancelled", 1) and len(github.bodies) == 1


async def decide(db: Database, decider: InvitationDecider, event: Event) -> None:
    async with db.transaction() as conn:
        await decider.handle(conn, [event])


async def test_the_decider_waits_the_delay_and_never_invites_for_events_from_before_it_was_on(
    db: Database, clock: ManualClock
) -> None:
    settings = parse_settings(
        {
            "discord": {"guild_id": GUILD},
            "github": {"repositories": [REPO]},
            "invitations": {"enabled": True, "discord_invite": "https://discord.gg/acme", "delay": "2m"},
        }
    )
    now = iso(clock.now())
    for github_id, login in ((10, "dev10"), (11, "dev11")):
        await db.execute("INSERT INTO github_users(id, login, updated_at) VALUES (?, ?, ?)", (github_id, login, now))
        await db.execute(
            "INSERT INTO pull_requests(repo, number, author_id, state, created_at) VALUES (?, ?, ?, 'open', ?)",
            (REPO, github_id, github_id, now),
        )
    decider = InvitationDecider(clock, settings)
    before = Event(1, PullOpened(REPO, 10, author_id=10, author_login="dev10"), False, clock.now())
    clock.advance(5)
    await decide(db, decider, before)  # invitations not turned on yet: nothing
    async with db.transaction() as conn:
        await turned_on(conn, clock.now())
    await decide(db, decider, before)  # an event from before they were turned on: history
    assert await db.fetchval("SELECT COUNT(*) FROM invitations") == 0
    clock.advance(5)
    await decide(db, decider, Event(2, PullOpened(REPO, 11, author_id=11, author_login="dev11"), False, clock.now()))
    row = await db.fetchone("SELECT github_id, created_at, not_before FROM invitations")
    assert row is not None and row["github_id"] == 11
    assert parse_iso(row["not_before"]) - parse_iso(row["created_at"]) == timedelta(minutes=2)


async def test_a_celebration_recorded_after_the_decider_looked_still_gets_its_edit(
    db: Database, clock: ManualClock
) -> None:
    github = FakeGitHub()
    sender = InvitationSender(db, clock, settings(), github)
    await invite(db, clock, 10, 1)
    await sender.run_once()
    now = iso(clock.now())
    await db.execute(
        "INSERT INTO links(guild_id, discord_id, github_id, login, method, linked_at) "
        "VALUES (?, 5, 10, 'dev10', 'oauth', ?)",
        (GUILD, now),
    )
    await sender.run_once()
    assert github.edits == 0  # linked, not celebrated yet
    await db.execute(
        "INSERT INTO celebrations(guild_id, key, github_id, at) VALUES (?, 'first-pr:10', 10, ?)", (GUILD, now)
    )
    await sender.run_once()
    await sender.run_once()
    assert github.edits == 1 and CELEBRATED in next(iter(github.bodies.values()))
