"""Linking: device flow, proof phrases, claims, one account per member, rate limits, audit, token hygiene."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import domain
from bot.clock import ManualClock
from bot.config.models import GitHubSettings, LinkingSettings
from bot.db import Database
from bot.errors import UserFacingError
from bot.github.device_flow import DeviceCode, DeviceFlowError, TokenResult
from bot.github.types import GitHubError, GitHubUser
from bot.logs import redactor
from bot.services.linking import LinkFailed, Linking, LinkStore, after_poll, check_login

GUILD, ALICE, BOB, MAINTAINER = 1, 101, 102, 900
TOKEN = "gho_" + "s3cr3tT0kenValue" * 2
DEV42 = GitHubUser(42, "dev42", False, bio=None, avatar_url="https://avatars/42")
OTHER = GitHubUser(43, "other-dev", False)
ROBOT = GitHubUser(44, "helper[bot]", True)


@dataclass
class FakeDirectory:
    """GitHub's public profile data, held in dictionaries."""

    users: dict[str, GitHubUser] = field(default_factory=dict)
    gists: dict[str, list[str]] = field(default_factory=dict)
    failing: bool = False
    calls: int = 0

    async def get_user(self, login: str) -> GitHubUser | None:
        self.calls += 1
        if self.failing:
            raise GitHubError("down", 502)
        return next((u for u in self.users.values() if u.login.lower() == login.lower()), None)

    async def get_user_gists_text(self, login: str, limit: int = 10) -> list[str]:
        self.calls += 1
        return self.gists.get(login, [])


@dataclass
class FakeDevice:
    """GitHub's device flow: answers polls from a script, issues TOKEN, and says who holds it."""

    script: list[TokenResult | Exception] = field(default_factory=list)
    user: GitHubUser = DEV42
    polls: int = 0
    redacted_during_fetch: bool | None = None

    async def request_code(self, client_id: str, scope: str = "") -> DeviceCode:
        return DeviceCode("dev-code-1", "ABCD-EFGH", "https://github.com/login/device", 900, 5)

    async def poll_token(self, client_id: str, device_code: str) -> TokenResult:
        assert (client_id, device_code) == ("client-1", "dev-code-1")
        self.polls += 1
        step = self.script.pop(0) if self.script else TokenResult("ok", access_token=TOKEN)
        if isinstance(step, Exception):
            raise step
        return step

    async def fetch_user(self, api_url: str, token: str) -> GitHubUser:
        assert token == TOKEN
        self.redacted_during_fetch = TOKEN in redactor().secrets
        logging.getLogger("test").info("fetching the user with %s", token)
        return self.user


class Sleeps:
    """Record the waits instead of sleeping; optionally move the clock."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


def pending() -> TokenResult:
    return TokenResult("pending", error="authorization_pending")


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory({u.login: u for u in (DEV42, OTHER, ROBOT)})


@pytest.fixture
def device() -> FakeDevice:
    return FakeDevice()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make(
    db: Database, clock: ManualClock, directory: Any, device: Any, sleeps: Any, *, client_id: str | None = "client-1",
    attempts: int = 5,
) -> Linking:  # fmt: skip
    store = LinkStore(db, clock, attempts_per_hour=attempts)
    github = GitHubSettings(repositories=["sandbox/project"], oauth_client_id=client_id)
    settings = LinkingSettings(attempts_per_hour=attempts)
    return Linking(store, clock, settings, github, lambda: directory, device, sleep=sleeps)


@pytest.fixture
def linking(db: Database, clock: ManualClock, directory: FakeDirectory, device: FakeDevice, sleeps: Sleeps) -> Linking:
    return make(db, clock, directory, device, sleeps)


async def events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    rows = await db.fetchall("SELECT kind, payload FROM events ORDER BY seq")
    return [(r["kind"], json.loads(r["payload"])) for r in rows]


async def links(db: Database) -> list[tuple[int, int, str]]:
    rows = await db.fetchall("SELECT discord_id, github_id, login FROM links ORDER BY discord_id")
    return [(r["discord_id"], r["github_id"], r["login"]) for r in rows]


async def device_link(linking: Linking, member: int, expected: int | None = None) -> Any:
    return await linking.complete_device(await linking.start_device(GUILD, member, expected))


# the device flow -------------------------------------------------------------------------------------------
async def test_device_flow_links_the_account_that_approved_and_emits_member_linked(
    linking: Linking, db: Database, device: FakeDevice
) -> None:
    device.script = [pending()]
    result = await device_link(linking, ALICE)
    assert (result.link.github_id, result.link.login, result.link.method) == (42, "dev42", "oauth")
    assert await links(db) == [(ALICE, 42, "dev42")]
    assert await events(db) == [
        (domain.MemberLinked.KIND, {"guild_id": GUILD, "discord_id": ALICE, "github_id": 42, "login": "dev42"})
    ]
    assert await db.fetchval("SELECT login FROM github_users WHERE id = 42") == "dev42"


async def test_device_flow_waits_the_interval_and_adds_five_seconds_on_slow_down(
    linking: Linking, device: FakeDevice, sleeps: Sleeps
) -> None:
    device.script = [pending(), TokenResult("slow_down", interval=10, error="slow_down"), pending()]
    await device_link(linking, ALICE)
    assert sleeps.waits == [5, 5, 10, 10]
    assert device.polls == 4


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (TokenResult("expired", error="expired_token"), "expired"),
        (TokenResult("denied", error="access_denied"), "cancelled"),
        (TokenResult("error", error="incorrect_device_code"), "incorrect_device_code"),
    ],
)
async def test_device_flow_stops_with_a_clear_message_when_github_ends_it(
    linking: Linking, db: Database, device: FakeDevice, answer: TokenResult, words: str
) -> None:
    device.script = [pending(), answer]
    with pytest.raises(LinkFailed, match=words):
        await device_link(linking, ALICE)
    assert device.polls == 2
    assert await links(db) == []


async def test_device_flow_stops_once_the_code_expired_by_the_clock(
    db: Database, clock: ManualClock, directory: FakeDirectory, device: FakeDevice
) -> None:
    linking = make(db, clock, directory, device, Sleeps(clock))
    device.script = [pending()] * 1000
    with pytest.raises(LinkFailed, match="expired"):
        await device_link(linking, ALICE)
    # 14 minutes at 5 s per poll: the interaction token (15 min) still works for the final edit.
    assert device.polls == 14 * 60 // 5 - 1


async def test_device_flow_tolerates_a_few_network_failures_then_gives_up(linking: Linking, device: FakeDevice) -> None:
    device.script = [DeviceFlowError("bad_response", "no json"), TimeoutError(), pending()]
    assert (await device_link(linking, ALICE)).link.github_id == 42
    device.script = [TimeoutError()] * 3
    with pytest.raises(LinkFailed, match="lost contact"):
        await device_link(linking, BOB)


async def test_access_token_is_redacted_while_it_lives_and_never_stored_or_logged(
    linking: Linking, db: Database, device: FakeDevice, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(redactor())  # as bot.logs.configure() does for the real handler
    try:
        await device_link(linking, ALICE)
    finally:
        caplog.handler.removeFilter(redactor())
    assert device.redacted_during_fetch is True
    assert TOKEN not in redactor().secrets
    assert TOKEN not in caplog.text and "fetching the user with [redacted]" in caplog.text
    for name in ("vestry.sqlite3", "vestry.sqlite3-wal"):
        path = tmp_path / name
        assert not path.exists() or TOKEN.encode() not in path.read_bytes()


async def test_without_an_oauth_app_the_device_flow_points_to_the_proof(
    db: Database, clock: ManualClock, directory: FakeDirectory, device: FakeDevice, sleeps: Sleeps
) -> None:
    linking = make(db, clock, directory, device, sleeps, client_id=None)
    assert not linking.device_flow_enabled
    with pytest.raises(UserFacingError, match="/link github:"):
        await linking.start_device(GUILD, ALICE)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (TokenResult("pending"), 5),
        (TokenResult("slow_down"), 10),
        (TokenResult("slow_down", interval=20), 20),
    ],
)
def test_after_poll_keeps_or_grows_the_interval(result: TokenResult, expected: float) -> None:
    assert after_poll(result, 5) == expected


# one account, one member -----------------------------------------------------------------------------------
async def test_an_account_linked_to_another_member_is_refused(linking: Linking, db: Database) -> None:
    await device_link(linking, ALICE)
    with pytest.raises(LinkFailed, match=r"already linked to another member.*vestry link"):
        await device_link(linking, BOB)
    assert await links(db) == [(ALICE, 42, "dev42")]


async def test_relinking_to_another_account_replaces_the_link_emitting_unlinked_then_linked(
    linking: Linking, db: Database, device: FakeDevice
) -> None:
    await device_link(linking, ALICE)
    device.user = OTHER
    result = await device_link(linking, ALICE)
    assert result.replaced is not None and result.replaced.login == "dev42"
    assert await links(db) == [(ALICE, 43, "other-dev")]
    assert [kind for kind, _ in await events(db)] == [
        domain.MemberLinked.KIND,
        domain.MemberUnlinked.KIND,
        domain.MemberLinked.KIND,
    ]
    assert (await events(db))[1][1] == {"guild_id": GUILD, "discord_id": ALICE, "github_id": 42}


async def test_proving_the_same_account_again_changes_nothing(linking: Linking, db: Database) -> None:
    await device_link(linking, ALICE)
    assert (await device_link(linking, ALICE)).unchanged
    assert len(await events(db)) == 1


async def test_bot_accounts_cannot_be_linked(linking: Linking, device: FakeDevice, db: Database) -> None:
    device.user = ROBOT
    with pytest.raises(UserFacingError, match="bot account"):
        await device_link(linking, ALICE)
    assert await links(db) == []


async def test_unlink_removes_the_link_and_emits_member_unlinked(linking: Linking, db: Database) -> None:
    await device_link(linking, ALICE)
    old = await linking.unlink(GUILD, ALICE)
    assert old.login == "dev42"
    assert await links(db) == []
    assert (await events(db))[-1] == (
        domain.MemberUnlinked.KIND,
        {"guild_id": GUILD, "discord_id": ALICE, "github_id": 42},
    )
    with pytest.raises(UserFacingError, match="no linked GitHub account"):
        await linking.unlink(GUILD, ALICE)


# maintainers -----------------------------------------------------------------------------------------------
async def test_maintainer_link_moves_an_account_and_is_audited(linking: Linking, db: Database) -> None:
    await device_link(linking, ALICE)
    result = await linking.admin_link(GUILD, MAINTAINER, BOB, "DEV42")
    assert result.moved_from is not None and result.moved_from.discord_id == ALICE
    assert await links(db) == [(BOB, 42, "dev42")]
    assert [kind for kind, _ in await events(db)] == [
        domain.MemberLinked.KIND,
        domain.MemberUnlinked.KIND,
        domain.MemberLinked.KIND,
    ]
    [entry] = await linking.audit(GUILD)
    assert (entry.actor_id, entry.action, entry.target_id, entry.github_id) == (MAINTAINER, "link", BOB, 42)
    assert f"<@{ALICE}>" in entry.detail


async def test_maintainer_unlink_is_audited_newest_first(linking: Linking, clock: ManualClock) -> None:
    await linking.admin_link(GUILD, MAINTAINER, BOB, "dev42")
    clock.advance(60)
    await linking.admin_unlink(GUILD, MAINTAINER, BOB)
    assert [(e.action, e.detail) for e in await linking.audit(GUILD)] == [("unlink", "@dev42"), ("link", "@dev42")]


async def test_maintainer_link_of_an_unknown_login_says_to_check_the_spelling(linking: Linking) -> None:
    with pytest.raises(UserFacingError, match="no account named `nobody-here`"):
        await linking.admin_link(GUILD, MAINTAINER, BOB, "nobody-here")


async def test_github_outage_gets_a_try_again_message(linking: Linking, directory: FakeDirectory) -> None:
    directory.failing = True
    with pytest.raises(UserFacingError, match="try again in a few minutes"):
        await linking.admin_link(GUILD, MAINTAINER, BOB, "dev42")


# the proof flow --------------------------------------------------------------------------------------------
async def test_phrase_in_a_public_gist_links_the_account(
    linking: Linking, db: Database, directory: FakeDirectory
) -> None:
    proof = await linking.start_proof(GUILD, ALICE, "@dev42")
    directory.gists["dev42"] = ["notes", f"my vestry proof: {proof.phrase}\n"]
    result = await linking.verify(GUILD, ALICE)
    assert (result.link.github_id, result.link.method) == (42, "gist")
    assert await db.fetchval("SELECT COUNT(*) FROM link_proofs") == 0
    assert [kind for kind, _ in await events(db)] == [domain.MemberLinked.KIND]


async def test_phrase_in_the_profile_bio_links_the_account(linking: Linking, directory: FakeDirectory) -> None:
    proof = await linking.start_proof(GUILD, ALICE, "dev42")
    directory.users["dev42"] = GitHubUser(42, "dev42", False, bio=f"I write code. {proof.phrase}")
    assert (await linking.verify(GUILD, ALICE)).link.method == "bio"


async def test_phrase_not_found_says_where_to_put_it(linking: Linking, db: Database) -> None:
    proof = await linking.start_proof(GUILD, ALICE, "dev42")
    with pytest.raises(UserFacingError, match=rf"couldn't find `{proof.phrase}`.*public gist.*/verify"):
        await linking.verify(GUILD, ALICE)
    assert await links(db) == []


async def test_phrase_expires_after_phrase_ttl(linking: Linking, clock: ManualClock, directory: FakeDirectory) -> None:
    before = clock.now()
    proof = await linking.start_proof(GUILD, ALICE, "dev42")
    assert before + timedelta(minutes=15) <= proof.expires_at <= clock.now() + timedelta(minutes=15)
    directory.gists["dev42"] = [proof.phrase]
    clock.advance(15 * 60)
    with pytest.raises(UserFacingError, match=r"expired.*/link github:dev42"):
        await linking.verify(GUILD, ALICE)
    with pytest.raises(UserFacingError, match="Nothing to verify"):
        await linking.verify(GUILD, ALICE)


async def test_verify_refuses_a_login_that_now_belongs_to_another_account(
    linking: Linking, directory: FakeDirectory
) -> None:
    proof = await linking.start_proof(GUILD, ALICE, "dev42")
    directory.users["dev42"] = GitHubUser(99, "dev42", False, bio=proof.phrase)
    with pytest.raises(UserFacingError, match="different GitHub account"):
        await linking.verify(GUILD, ALICE)


async def test_proof_for_an_account_linked_to_another_member_is_refused_at_once(linking: Linking) -> None:
    await device_link(linking, ALICE)
    with pytest.raises(UserFacingError, match="already linked to another member"):
        await linking.start_proof(GUILD, BOB, "dev42")


@pytest.mark.parametrize("login", ["-dev", "dev-", "de--v", "a" * 40, "dev_42", "dev 42", "", "dév"])
async def test_logins_github_does_not_allow_are_refused_with_the_rules(
    linking: Linking, directory: FakeDirectory, login: str
) -> None:
    with pytest.raises(UserFacingError, match="isn't a valid GitHub login: logins use letters, digits"):
        await linking.start_proof(GUILD, ALICE, login)
    assert directory.calls == 0


@pytest.mark.parametrize("login", ["a", "dev-42", "A1-b2-C3", "@dev42", " dev42 ", "a" * 39])
def test_logins_github_allows_are_accepted(login: str) -> None:
    assert check_login(login) == login.strip().removeprefix("@")


async def test_unknown_login_says_to_check_the_spelling(linking: Linking) -> None:
    with pytest.raises(UserFacingError, match="no account named `ghost`"):
        await linking.start_proof(GUILD, ALICE, "ghost")


# rate limit ------------------------------------------------------------------------------------------------
async def test_link_attempts_are_limited_per_member_per_hour(
    db: Database, clock: ManualClock, directory: FakeDirectory, device: FakeDevice, sleeps: Sleeps
) -> None:
    linking = make(db, clock, directory, device, sleeps, attempts=2)
    await linking.start_proof(GUILD, ALICE, "dev42")
    clock.advance(600)
    await linking.start_device(GUILD, ALICE)
    calls = directory.calls
    with pytest.raises(UserFacingError, match=r"tried to link 2 times in the last hour; please try again in 50 min"):
        await linking.start_proof(GUILD, ALICE, "dev42")
    assert directory.calls == calls
    await linking.start_proof(GUILD, BOB, "other-dev")
    clock.advance(50 * 60)
    await linking.start_proof(GUILD, ALICE, "dev42")


# claims ("This is me") -------------------------------------------------------------------------------------
async def test_a_claim_links_only_the_claimed_account(
    linking: Linking, db: Database, device: FakeDevice, directory: FakeDirectory
) -> None:
    await linking.admin_link(GUILD, MAINTAINER, BOB, "other-dev")
    await linking.unlink(GUILD, BOB)
    device.user = DEV42
    with pytest.raises(LinkFailed, match="signed in to GitHub as @dev42, but this is about @other-dev"):
        await device_link(linking, ALICE, expected=43)
    assert await links(db) == []
    device.user = OTHER
    assert (await device_link(linking, ALICE, expected=43)).link.github_id == 43


async def test_a_claim_of_an_account_linked_elsewhere_or_to_oneself_is_refused(linking: Linking) -> None:
    await device_link(linking, ALICE)
    with pytest.raises(UserFacingError, match="already linked to another member"):
        await linking.start_device(GUILD, BOB, 42)
    with pytest.raises(UserFacingError, match="already linked to @dev42"):
        await linking.claim_login(GUILD, ALICE, 42)
    with pytest.raises(UserFacingError, match="don't know that GitHub account"):
        await linking.claim_login(GUILD, ALICE, 777)


async def test_a_claim_by_proof_refuses_a_different_login(linking: Linking) -> None:
    await linking.admin_link(GUILD, MAINTAINER, BOB, "other-dev")
    await linking.unlink(GUILD, BOB)
    with pytest.raises(UserFacingError, match="not the GitHub account this is about"):
        await linking.start_proof(GUILD, ALICE, "dev42", expected_github_id=43)


# reading ---------------------------------------------------------------------------------------------------
async def test_whois_finds_a_link_by_member_and_by_login_in_any_case(linking: Linking) -> None:
    await device_link(linking, ALICE)
    by_member = await linking.link_of_member(GUILD, ALICE)
    assert by_member is not None and by_member.login == "dev42"
    assert await linking.link_of_login(GUILD, "DEV42") == by_member
    assert await linking.link_of_login(GUILD, "other-dev") is None
    with pytest.raises(UserFacingError, match="valid GitHub login"):
        await linking.link_of_login(GUILD, "bad login")
