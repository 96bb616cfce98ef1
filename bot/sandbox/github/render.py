"""Turn the emulator's records into GitHub's REST and webhook JSON shapes, rooted at the emulator's URL."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from bot.sandbox.github.render_accounts import JSON, AccountShapes, iso, node_id
from bot.sandbox.github.state import Event, Item, Repo, Review, World, sha

DEFAULT_LABELS = {
    "bug",
    "documentation",
    "duplicate",
    "enhancement",
    "good first issue",
    "help wanted",
    "invalid",
    "question",
    "wontfix",
}
DEFAULT_BRANCH = "main"


class Renderer(AccountShapes):
    """Build REST/webhook objects from the world; ``base`` is the emulator's root URL."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.base = ""
        self._user_cache: dict[str, JSON] = {}
        self._repo_cache: dict[str, tuple[int, JSON]] = {}

    def reset(self, base: str) -> None:
        """Root every URL at ``base`` from now on."""
        self.base = base.rstrip("/")
        self._user_cache.clear()
        self._repo_cache.clear()

    # repositories ---------------------------------------------------------------------------------------------
    def repo(self, repo: Repo) -> JSON:
        """Return the repository object nested in pulls and webhooks (cached per repository version)."""
        cached = self._repo_cache.get(repo.full_name)
        if cached is not None and cached[0] == repo.version:
            return cached[1]
        data = self._repo(repo)
        self._repo_cache[repo.full_name] = (repo.version, data)
        return data

    def _repo(self, repo: Repo) -> JSON:
        api = f"{self.base}/repos/{repo.full_name}"
        html = f"{self.base}/{repo.full_name}"
        open_issues = sum(1 for item in repo.items.values() if item.state == "open")
        stars = len(repo.stars)
        urls = {
            "forks_url": "/forks",
            "keys_url": "/keys{/key_id}",
            "collaborators_url": "/collaborators{/collaborator}",
            "teams_url": "/teams",
            "hooks_url": "/hooks",
            "issue_events_url": "/issues/events{/number}",
            "events_url": "/events",
            "assignees_url": "/assignees{/user}",
            "branches_url": "/branches{/branch}",
            "tags_url": "/tags",
            "blobs_url": "/git/blobs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "trees_url": "/git/trees{/sha}",
            "statuses_url": "/statuses/{sha}",
            "languages_url": "/languages",
            "stargazers_url": "/stargazers",
            "contributors_url": "/contributors",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "commits_url": "/commits{/sha}",
            "git_commits_url": "/git/commits{/sha}",
            "comments_url": "/comments{/number}",
            "issue_comment_url": "/issues/comments{/number}",
            "contents_url": "/contents/{+path}",
            "compare_url": "/compare/{base}...{head}",
            "merges_url": "/merges",
            "archive_url": "/{archive_format}{/ref}",
            "downloads_url": "/downloads",
            "issues_url": "/issues{/number}",
            "pulls_url": "/pulls{/number}",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "labels_url": "/labels{/name}",
            "releases_url": "/releases{/id}",
            "deployments_url": "/deployments",
        }
        host = self.base.split("://", 1)[-1]
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            **{key: api + suffix for key, suffix in urls.items()},
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.updated_at),
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host.split(':')[0]}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": stars,
            "watchers_count": stars,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "forks": 0,
            "open_issues": open_issues,
            "watchers": stars,
            "default_branch": DEFAULT_BRANCH,
            "is_template": False,
            "topics": [],
            "visibility": "public",
            "web_commit_signoff_required": False,
            "custom_properties": {},
        }

    def full_repo(self, repo: Repo) -> JSON:
        """Return the repository as GET /repos/{owner}/{repo} answers it."""
        data = {**self.repo(repo), "network_count": 0, "subscribers_count": len(repo.stars)}
        if self.world.users[repo.owner].type == "Organization":
            data["organization"] = self.user(repo.owner)
        return data

    def label(self, repo: Repo, name: str) -> JSON:
        """Return a label object."""
        label_id = self.world.label_id(repo, name)
        return {
            "id": label_id,
            "node_id": node_id("Label", label_id),
            "url": f"{self.base}/repos/{repo.full_name}/labels/{quote(name)}",
            "name": name,
            "color": sha("label", name)[:6],
            "default": name in DEFAULT_LABELS,
            "description": None,
            "archived_by": None,
        }

    # issues and pulls -----------------------------------------------------------------------------------------
    def association(self, repo: Repo, login: str, is_pull: bool) -> str:
        """Return GitHub's author_association of ``login`` in ``repo``."""
        if login == repo.owner:
            return "OWNER"
        if login in repo.members:
            return "COLLABORATOR"
        if repo.merged_authors.get(login):
            return "CONTRIBUTOR"
        return "FIRST_TIME_CONTRIBUTOR" if is_pull else "NONE"

    def issue(self, repo: Repo, item: Item, *, full: bool = False) -> JSON:
        """Return an issue object (a pull request seen as an issue carries ``pull_request``)."""
        api = f"{self.base}/repos/{repo.full_name}/issues/{item.number}"
        kind = "pull" if item.is_pull else "issues"
        data: JSON = {
            "url": api,
            "repository_url": f"{self.base}/repos/{repo.full_name}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.base}/{repo.full_name}/{kind}/{item.number}",
            "id": item.id,
            "node_id": node_id("PullRequest" if item.is_pull else "Issue", item.id),
            "number": item.number,
            "title": item.title,
            "user": self.user(item.author),
            "labels": [self.label(repo, name) for name in item.labels],
            "state": item.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": 0,
            "created_at": iso(item.created_at),
            "updated_at": iso(item.updated_at),
            "closed_at": iso(item.closed_at),
            "author_association": self.association(repo, item.author, item.is_pull),
            "active_lock_reason": None,
            "draft": item.draft,
            "body": item.body,
            "reactions": {
                "url": f"{api}/reactions",
                "total_count": 0,
                **dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0),
            },
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "state_reason": item.state_reason,
        }
        if item.is_pull:
            pull_html = f"{self.base}/{repo.full_name}/pull/{item.number}"
            data["pull_request"] = {
                "url": f"{self.base}/repos/{repo.full_name}/pulls/{item.number}",
                "html_url": pull_html,
                "diff_url": f"{pull_html}.diff",
                "patch_url": f"{pull_html}.patch",
                "merged_at": iso(item.merged_at),
            }
        if full:
            data["closed_by"] = self.user(item.closed_by)
        return data

    def pull(self, repo: Repo, item: Item, *, full: bool = True) -> JSON:
        """Return a pull request: ``full`` as GET /pulls/{n} and webhooks, else pull-request-simple."""
        api = f"{self.base}/repos/{repo.full_name}/pulls/{item.number}"
        issue_api = f"{self.base}/repos/{repo.full_name}/issues/{item.number}"
        html = f"{self.base}/{repo.full_name}/pull/{item.number}"
        head_sha = sha("head", repo.id, item.number)
        statuses = f"{self.base}/repos/{repo.full_name}/statuses/{head_sha}"
        repo_json = self.repo(repo)
        data: JSON = {
            "url": api,
            "id": item.pr_id,
            "node_id": node_id("PullRequest", item.pr_id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "number": item.number,
            "state": item.state,
            "locked": False,
            "title": item.title,
            "user": self.user(item.author),
            "body": item.body,
            "created_at": iso(item.created_at),
            "updated_at": iso(item.updated_at),
            "closed_at": iso(item.closed_at),
            "merged_at": iso(item.merged_at),
            "merge_commit_sha": sha("merge", repo.id, item.number),
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self.user(login) for login in item.requested_reviewers],
            "requested_teams": [self.team(self.world.team(repo.owner, slug)) for slug in item.requested_teams],
            "labels": [self.label(repo, name) for name in item.labels],
            "milestone": None,
            "draft": item.draft,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.base}/repos/{repo.full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": statuses,
            "head": {
                "label": f"{repo.owner}:pr-{item.number}",
                "ref": f"pr-{item.number}",
                "sha": head_sha,
                "user": self.user(repo.owner),
                "repo": repo_json,
            },
            "base": {
                "label": f"{repo.owner}:{DEFAULT_BRANCH}",
                "ref": DEFAULT_BRANCH,
                "sha": sha("base", repo.id),
                "user": self.user(repo.owner),
                "repo": repo_json,
            },
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue_api},
                "comments": {"href": f"{issue_api}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{self.base}/repos/{repo.full_name}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": self.association(repo, item.author, True),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if full:
            merged = item.merged_at is not None
            data.update(
                {
                    "merged": merged,
                    "mergeable": None if item.state == "closed" else True,
                    "rebaseable": None if item.state == "closed" else True,
                    "mergeable_state": "unknown" if item.state == "closed" else "clean",
                    "merged_by": self.user(item.merged_by) if merged else None,
                    "comments": 0,
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": 1,
                    "additions": 1,
                    "deletions": 1,
                    "changed_files": 1,
                }
            )
        return data

    def review(self, repo: Repo, item: Item, review: Review, *, webhook: bool = False) -> JSON:
        """Return a review; REST states are upper case, webhook states lower case."""
        pull_api = f"{self.base}/repos/{repo.full_name}/pulls/{item.number}"
        html = f"{self.base}/{repo.full_name}/pull/{item.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "commit_id": sha("head", repo.id, item.number),
            "submitted_at": iso(review.submitted_at),
            "state": review.state.lower() if webhook else review.state,
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": self.association(repo, review.user, False),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
        }

    def event(self, repo: Repo, item: Item, event: Event, *, with_issue: bool = False) -> JSON:
        """Return an issue event (GET /issues/{n}/events, timeline, repository events)."""
        data: JSON = {
            "id": event.id,
            "node_id": node_id("IssueEvent", event.id),
            "url": f"{self.base}/repos/{repo.full_name}/issues/events/{event.id}",
            "actor": self.user(event.actor),
            "event": event.event,
            "commit_id": event.commit_id,
            "commit_url": event.commit_id and f"{self.base}/repos/{repo.full_name}/commits/{event.commit_id}",
            "created_at": iso(event.created_at),
            "performed_via_github_app": None,
        }
        if event.event in ("review_requested", "review_request_removed"):
            data["review_requester"] = self.user(event.review_requester)
            if event.requested_team is not None:
                data["requested_team"] = self.team(self.world.team(repo.owner, event.requested_team))
            else:
                data["requested_reviewer"] = self.user(event.requested_reviewer)
        if event.label is not None:
            data["label"] = {"name": event.label, "color": sha("label", event.label)[:6]}
        if event.event == "closed":
            data["state_reason"] = event.state_reason
        if with_issue:
            data["issue"] = self.issue(repo, item)
        return data

    def timeline(self, repo: Repo, item: Item) -> list[JSON]:
        """Return the timeline: issue events plus ``reviewed`` entries, in time order."""
        entries: list[tuple[datetime, int, JSON]] = [
            (event.created_at, event.id, self.event(repo, item, event)) for event in item.events
        ]
        for review in item.reviews:
            entry = {"event": "reviewed", **self.review(repo, item, review, webhook=True)}
            entries.append((review.submitted_at, review.id, entry))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [entry for _, _, entry in entries]
