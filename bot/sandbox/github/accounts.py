"""Renames, transfers and deleted accounts in the GitHub emulator's world, as GitHub applies them.

A renamed account keeps its id; a deleted one becomes GitHub's ``ghost`` (id 10137) in everything it wrote,
and its stars go. A renamed or transferred repository keeps its id: its old name answers 301 (REST) and is
still found by GraphQL (``followRenames``); webhooks carry the new name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.github.state import GHOST_ID, GHOST_LOGIN, Item, Repo, User, World


def ghost(world: World, now: datetime) -> User:
    """Return GitHub's placeholder for deleted accounts, creating it with its real id if needed."""
    user = world.users.get(GHOST_LOGIN)
    if user is None:
        user = User(id=GHOST_ID, login=GHOST_LOGIN, type="User", created_at=now)
        world.users[GHOST_LOGIN] = user
        world.users_by_id[GHOST_ID] = user
        world.logins[GHOST_LOGIN] = GHOST_LOGIN
    return user


def _swap(value: str | None, old: str, new: str) -> str | None:
    return new if value == old else value


def _replace_in_item(item: Item, old: str, new: str) -> None:
    item.author = _swap(item.author, old, new) or item.author
    item.merged_by = _swap(item.merged_by, old, new)
    item.closed_by = _swap(item.closed_by, old, new)
    item.requested_reviewers = [_swap(login, old, new) or login for login in item.requested_reviewers]
    for review in item.reviews:
        review.user = _swap(review.user, old, new) or review.user
    for event in item.events:
        event.actor = _swap(event.actor, old, new)
        event.requested_reviewer = _swap(event.requested_reviewer, old, new)
        event.review_requester = _swap(event.review_requester, old, new)


def replace_login(world: World, old: str, new: str) -> None:
    """Make ``new`` appear wherever ``old`` wrote, reviewed, merged, starred or owned something."""
    for repo in world.repos.values():
        for item in repo.items.values():
            _replace_in_item(item, old, new)
        if old in repo.stars:
            when = repo.stars.pop(old)
            if new != GHOST_LOGIN:
                repo.stars[new] = when
        if old in repo.members:
            repo.members.discard(old)
            repo.members.add(new)
        if old in repo.merged_authors:
            repo.merged_authors[new] += repo.merged_authors.pop(old)
        repo.owner = new if repo.owner == old else repo.owner
        repo.touch()
    for gist in world.gists.values():
        gist.owner = new if gist.owner == old else gist.owner
    for token, login in list(world.tokens.items()):
        if login == old:
            if new == GHOST_LOGIN:
                del world.tokens[token]
            else:
                world.tokens[token] = new


def rename_user(world: World, login: str, new_login: str) -> User:
    """Rename an account; its id stays. ValueError if the new login is taken."""
    user = world.find_user(login)
    if new_login.lower() in world.logins and world.logins[new_login.lower()] != user.login:
        raise ValueError(f"the login {new_login!r} is taken")
    old = user.login
    del world.users[old]
    world.logins.pop(old.lower(), None)
    user.login = new_login
    world.users[new_login] = user
    world.logins[new_login.lower()] = new_login
    replace_login(world, old, new_login)
    return user


def delete_user(world: World, login: str, now: datetime) -> User:
    """Delete an account: what it wrote now shows ``ghost`` (id 10137); its stars are gone."""
    user = world.find_user(login)
    if user.id == GHOST_ID:
        raise ValueError("the ghost account cannot be deleted")
    ghost(world, now)
    del world.users[user.login]
    world.logins.pop(user.login.lower(), None)
    world.users_by_id.pop(user.id, None)
    replace_login(world, user.login, GHOST_LOGIN)
    return user


def rename_repo(world: World, full_name: str, new_full_name: str, now: datetime) -> tuple[Repo, str]:
    """Rename or transfer a repository; return it and its old full name. ValueError if the name is taken."""
    repo = world.repo(full_name)
    owner, _, name = new_full_name.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"invalid repository name {new_full_name!r}")
    taken = world.repos.get(new_full_name.lower())
    if taken is not None and taken is not repo:
        raise ValueError(f"{new_full_name} already exists")
    old = repo.full_name
    del world.repos[old.lower()]
    repo.owner = world.ensure_user(owner, "Organization", now).login
    repo.name = name
    repo.updated_at = now
    world.repos[repo.full_name.lower()] = repo
    world.redirects[old.lower()] = repo.id
    world.redirects.pop(repo.full_name.lower(), None)
    repo.touch()
    return repo, old


def star_many(world: World, repo: Repo, count: int, now: datetime) -> list[str]:
    """Add ``count`` stars from as many new users, one second apart and ending now (no webhooks)."""
    if not 1 <= count <= 200_000:
        raise ValueError("count must be between 1 and 200000")
    start = len(repo.stars)
    logins = []
    for index in range(count):
        login = f"stargazer-{repo.id}-{start + index + 1}"
        world.ensure_user(login, "User", now)
        repo.stars[login] = now - timedelta(seconds=count - index - 1)
        logins.append(login)
    repo.touch()
    return logins


def summary(user: User) -> dict[str, Any]:
    """Return what the control API answers about an account."""
    return {"id": user.id, "login": user.login, "type": "Bot" if user.is_bot else user.type, "delivery": None}
