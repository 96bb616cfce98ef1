"""What a GitHub App installation lets Vestry follow: installation webhooks, hostile bodies, status lines."""

from __future__ import annotations

from typing import Any

import pytest

from bot.github.installation import AppFollowing
from bot.github.repos import Repositories

MINE = {"id": 7}


def _following(configured: list[str] | None = None) -> AppFollowing:
    following = AppFollowing(configured or [], Repositories(configured or []))
    following.installation_id = 7
    following.visible = {name.lower(): None for name in configured or []}
    return following


def _repo(name: str, repo_id: int) -> dict[str, Any]:
    return {"id": repo_id, "full_name": name}


def test_added_and_removed_repositories_are_followed_and_unfollowed_with_a_status_line() -> None:
    following = _following()
    changes: list[list[str]] = []
    following.changed = lambda: changes.append(following.repos.names())
    body = {"action": "added", "installation": MINE, "repositories_added": [_repo("acme/a", 1), _repo("acme/b", 2)]}
    following.on_webhook("installation_repositories", body)
    assert following.repos.names() == ["acme/a", "acme/b"]
    body = {"action": "removed", "installation": MINE, "repositories_removed": [_repo("acme/a", 1)]}
    following.on_webhook("installation_repositories", body)
    assert following.repos.names() == ["acme/b"] and changes == [["acme/a", "acme/b"], ["acme/b"]]
    assert following.problems() == ["acme/a: the GitHub App was uninstalled from it; no longer followed"]


def test_configured_repositories_limit_what_an_installation_adds() -> None:
    following = _following(["acme/a"])
    body = {"action": "added", "installation": MINE, "repositories_added": [_repo("acme/b", 2), _repo("ACME/A", 1)]}
    following.on_webhook("installation_repositories", body)
    assert following.repos.names() == ["acme/a"] and following.repos.records[0].id == 1


def test_another_installation_of_the_same_app_changes_nothing() -> None:
    following = _following(["acme/a"])
    body = {"action": "removed", "installation": {"id": 8}, "repositories_removed": [_repo("acme/a", 1)]}
    following.on_webhook("installation_repositories", body)
    assert following.repos.names() == ["acme/a"] and following.problems() == []


def test_suspend_and_delete_are_said_plainly() -> None:
    following = _following(["acme/a"])
    following.on_webhook("installation", {"action": "suspend", "installation": MINE})
    assert any("suspended" in line for line in following.problems())
    following.on_webhook("installation", {"action": "unsuspend", "installation": MINE})
    following.on_webhook(
        "installation", {"action": "deleted", "installation": MINE, "repositories": [_repo("acme/a", 1)]}
    )
    assert following.repos.names() == [] and following.problems()[0].startswith("GitHub App: uninstalled")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": None, "installation": "7"},
        {"action": "added", "installation": {"id": "7"}, "repositories_added": "acme/x"},
        {"action": "added", "installation": MINE, "repositories_added": [None, 5, {"full_name": 9}, {"id": 3}]},
        {"action": "created", "installation": {"id": True}, "repositories": [{"full_name": ["x"]}]},
        {"action": "removed", "installation": MINE, "repositories_removed": [{"full_name": "nobody/here", "id": 4}]},
    ],
)
def test_hostile_installation_bodies_change_nothing_and_raise_nothing(body: dict[str, Any]) -> None:
    following = _following(["acme/a"])
    for event in ("installation", "installation_repositories"):
        following.on_webhook(event, body)
    assert following.repos.names() == ["acme/a"] and following.installation_id == 7
