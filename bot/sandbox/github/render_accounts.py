"""The emulator's accounts and gists in GitHub's REST and webhook shapes (users, organisations, teams, gists)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, overload
from urllib.parse import quote

from bot.sandbox.github.state import Gist, Team, User, World

JSON = dict[str, Any]


def iso(when: datetime | None) -> str | None:
    """Format an aware datetime the way GitHub does (``2024-05-01T12:00:00Z``)."""
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    """Return a legacy-format global node id (``MDQ6VXNlcjE=`` style)."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class AccountShapes:
    """Users, organisations, teams and gists; mixed into the emulator's ``Renderer``, which sets the fields."""

    world: World
    base: str
    _user_cache: dict[str, JSON]

    # accounts -------------------------------------------------------------------------------------------------
    @overload
    def user(self, login: str) -> JSON: ...

    @overload
    def user(self, login: None) -> None: ...

    @overload
    def user(self, login: str | None) -> JSON | None: ...

    def user(self, login: str | None) -> JSON | None:
        """Return the simple user object of ``login`` (as nested in other objects)."""
        if login is None:
            return None
        cached = self._user_cache.get(login)
        if cached is None:
            cached = self._user_cache[login] = self._simple_user(self.world.users[login])
        return cached

    def _simple_user(self, user: User) -> JSON:
        api = f"{self.base}/users/{quote(user.login)}"
        html = f"{self.base}/apps/{user.login.removesuffix('[bot]')}" if user.is_bot else f"{self.base}/{user.login}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id("Bot" if user.is_bot else user.type, user.id),
            "avatar_url": f"{self.base}/avatars/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": html,
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "Bot" if user.is_bot else user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def full_user(self, login: str) -> JSON:
        """Return the public profile of ``login`` (GET /users/{login})."""
        user = self.world.users[login]
        owned = sum(1 for repo in self.world.repos.values() if repo.owner == login)
        gists = sum(1 for gist in self.world.gists.values() if gist.owner == login)
        return {
            **self.user(login),
            "name": user.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": user.bio,
            "twitter_username": None,
            "public_repos": owned,
            "public_gists": gists,
            "followers": 0,
            "following": 0,
            "created_at": iso(user.created_at),
            "updated_at": iso(user.created_at),
        }

    def org(self, login: str) -> JSON:
        """Return the organization object that webhooks carry for org-owned repositories."""
        user = self.world.users[login]
        api = f"{self.base}/orgs/{login}"
        return {
            "login": login,
            "id": user.id,
            "node_id": node_id("Organization", user.id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/u/{user.id}?v=4",
            "description": "",
        }

    def team(self, team: Team) -> JSON:
        """Return a team object (requested_teams, requested_team)."""
        api = f"{self.base}/orgs/{team.org}/teams/{team.slug}"
        return {
            "name": team.slug,
            "id": team.id,
            "node_id": node_id("Team", team.id),
            "slug": team.slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "url": api,
            "html_url": f"{self.base}/orgs/{team.org}/teams/{team.slug}",
            "members_url": f"{api}/members{{/member}}",
            "repositories_url": f"{api}/repos",
            "permission": "pull",
            "parent": None,
        }

    def gist(self, gist: Gist, *, with_content: bool = True) -> JSON:
        """Return a gist; lists leave out file contents as GitHub does (use ``raw_url``)."""
        api = f"{self.base}/gists/{gist.id}"
        files = {}
        for filename, content in gist.files.items():
            entry: JSON = {
                "filename": filename,
                "type": "text/plain",
                "language": "Text",
                "raw_url": f"{self.base}/gist-raw/{gist.owner}/{gist.id}/raw/{quote(filename)}",
                "size": len(content.encode()),
            }
            if with_content:
                entry.update({"truncated": False, "content": content})
            files[filename] = entry
        return {
            "url": api,
            "forks_url": f"{api}/forks",
            "commits_url": f"{api}/commits",
            "id": gist.id,
            "node_id": base64.b64encode(f"Gist:{gist.id}".encode()).decode(),
            "git_pull_url": f"{self.base}/gist-git/{gist.id}.git",
            "git_push_url": f"{self.base}/gist-git/{gist.id}.git",
            "html_url": self.gist_html_url(gist),
            "files": files,
            "public": True,
            "created_at": iso(gist.created_at),
            "updated_at": iso(gist.updated_at),
            "description": gist.description,
            "comments": 0,
            "user": None,
            "comments_url": f"{api}/comments",
            "owner": self.user(gist.owner),
            "truncated": False,
        }

    def gist_html_url(self, gist: Gist) -> str:
        """Return the page address of a gist (``<base>/gist/<owner>/<id>``, like gist.github.com)."""
        return f"{self.base}/gist/{gist.owner}/{gist.id}"
