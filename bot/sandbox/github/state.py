"""The GitHub emulator's world: plain records in dictionaries, no rendering and no I/O."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sandbox.github.apps import AppRegistry

BOT_SUFFIX = "[bot]"
GHOST_ID = 10137
GHOST_LOGIN = "ghost"


@dataclass(slots=True)
class User:
    """A GitHub account: a user, a bot or an organization."""

    id: int
    login: str
    type: str
    created_at: datetime
    bio: str | None = None
    name: str | None = None

    @property
    def is_bot(self) -> bool:
        """Tell whether GitHub would show this account as a bot."""
        return self.type == "Bot" or self.login.endswith(BOT_SUFFIX)


@dataclass(slots=True)
class Team:
    """A team of an organization, which can be asked for reviews."""

    id: int
    org: str
    slug: str


@dataclass(slots=True)
class Review:
    """A submitted pull-request review; ``state`` is upper case as in REST."""

    id: int
    user: str
    state: str
    submitted_at: datetime
    body: str = ""


@dataclass(slots=True)
class Event:
    """One issue event (timeline entry): closed, merged, review_requested, labeled, ..."""

    id: int
    event: str
    actor: str | None
    created_at: datetime
    requested_reviewer: str | None = None
    requested_team: str | None = None
    review_requester: str | None = None
    label: str | None = None
    state_reason: str | None = None
    commit_id: str | None = None


@dataclass(slots=True)
class Item:
    """An issue or a pull request; both share the repository's number sequence."""

    number: int
    id: int
    is_pull: bool
    author: str
    title: str
    created_at: datetime
    updated_at: datetime
    body: str | None = None
    state: str = "open"
    closed_at: datetime | None = None
    closed_by: str | None = None
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    pr_id: int = 0
    draft: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)


@dataclass(slots=True)
class Repo:
    """A repository with its issues, pull requests and stargazers."""

    id: int
    owner: str
    name: str
    created_at: datetime
    updated_at: datetime
    items: dict[int, Item] = field(default_factory=dict)
    stars: dict[str, datetime] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    merged_authors: Counter[str] = field(default_factory=Counter)
    next_number: int = 1
    version: int = 0
    hook_id: int = 0

    @property
    def full_name(self) -> str:
        """Return ``owner/name``."""
        return f"{self.owner}/{self.name}"

    def touch(self) -> None:
        """Note a change, so that cached renderings are rebuilt."""
        self.version += 1


@dataclass(slots=True)
class Gist:
    """A gist with its files."""

    id: str
    owner: str
    files: dict[str, str]
    description: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class DeviceCode:
    """One OAuth device-flow authorization in progress."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    created_at: datetime
    expires_in: int
    interval: int
    status: str = "pending"
    login: str | None = None
    token: str | None = None
    last_poll: datetime | None = None


@dataclass(slots=True)
class IssueComment:
    """A comment on an issue or pull request; the repository is kept by id, so renames keep it."""

    id: int
    repo_id: int
    number: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime


def sha(*parts: Any) -> str:
    """Return a stable fake git SHA for the given parts."""
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


class World:
    """All accounts, repositories and gists, with id counters like GitHub's."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.users_by_id: dict[int, User] = {}
        self.logins: dict[str, str] = {}
        self.repos: dict[str, Repo] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        self.gists: dict[str, Gist] = {}
        self.tokens: dict[str, str] = {}
        self.redirects: dict[str, int] = {}
        self.comments: dict[int, IssueComment] = {}
        self.apps = AppRegistry()
        self._ids = {
            kind: itertools.count(start)
            for kind, start in {
                "user": 1001,
                "repo": 100001,
                "issue": 1_000_001,
                "pull": 2_000_001,
                "event": 4_000_001,
                "label": 5_000_001,
                "team": 6_001,
                "hook": 7_000_001,
                "comment": 8_000_001,
                "app": 900_001,
                "installation": 30_000_001,
            }.items()
        }
        # reviews and issue events share one sequence, so a timeline sorts by (time, id) in creation order
        self._ids["review"] = self._ids["event"]

    def set_next_id(self, kind: str, value: int) -> None:
        """Continue the ``kind`` sequence (and any sharing it) from ``value``."""
        shared = [name for name, counter in self._ids.items() if counter is self._ids[kind]]
        counter = itertools.count(int(value))
        for name in shared:
            self._ids[name] = counter

    def next_id(self, kind: str) -> int:
        """Return the next id of a kind of object."""
        return next(self._ids[kind])

    def ensure_user(self, login: str, type: str, now: datetime) -> User:
        """Return the account ``login`` (any case), creating it with ``type`` if needed."""
        user = self.users.get(login) or self.users.get(self.logins.get(login.lower(), ""))
        if user is None:
            if not login or "/" in login:
                raise ValueError(f"invalid GitHub login {login!r}")
            kind = "Bot" if login.endswith(BOT_SUFFIX) else type
            user = User(id=self.next_id("user"), login=login, type=kind, created_at=now)
            self.users[login] = user
            self.users_by_id[user.id] = user
            self.logins[login.lower()] = login
        return user

    def find_user(self, login: str) -> User:
        """Return an account by login, ignoring case as GitHub does; KeyError if unknown."""
        user = self.users.get(login) or self.users.get(self.logins.get(login.lower(), ""))
        if user is None:
            raise KeyError(f"no GitHub account {login}")
        return user

    def repo(self, full_name: str) -> Repo:
        """Return a repository by ``owner/name`` (case-insensitive); KeyError if unknown."""
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name}")
        return repo

    def find_repo(self, full_name: str, follow: bool = True) -> Repo | None:
        """Return a repository by any of its names (old ones too when ``follow``), or None."""
        repo = self.repos.get(full_name.lower())
        if repo is None and follow and full_name.lower() in self.redirects:
            repo = self.repo_by_id(self.redirects[full_name.lower()])
        return repo

    def repo_by_id(self, repo_id: int) -> Repo | None:
        """Return the repository with that id, or None."""
        return next((repo for repo in self.repos.values() if repo.id == repo_id), None)

    def item(self, full_name: str, number: int) -> Item:
        """Return an issue or pull request; KeyError if unknown."""
        item = self.repo(full_name).items.get(int(number))
        if item is None:
            raise KeyError(f"no issue or pull request {full_name}#{number}")
        return item

    def pull(self, full_name: str, number: int) -> Item:
        """Return a pull request; KeyError if there is none with that number."""
        item = self.item(full_name, number)
        if not item.is_pull:
            raise KeyError(f"{full_name}#{number} is an issue, not a pull request")
        return item

    def team(self, org: str, slug: str) -> Team:
        """Return a team of ``org``, creating it if needed."""
        key = (org, slug)
        if key not in self.teams:
            self.teams[key] = Team(id=self.next_id("team"), org=org, slug=slug)
        return self.teams[key]

    def label_id(self, repo: Repo, name: str) -> int:
        """Return the id of a repository label, creating the label if needed."""
        if name not in repo.labels:
            repo.labels[name] = self.next_id("label")
        return repo.labels[name]
