"""The REST routes PyGithub calls for Vestry's features, answering from the emulator's world."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.github.graphql_api import GraphQLApi, RateInfo
from bot.sandbox.github.render import JSON, Renderer, iso
from bot.sandbox.github.search import SearchError, search_items
from bot.sandbox.github.server import INJECTED, LOGIN, Gate, Moved, NotFound, error_reply, json_reply, paginate
from bot.sandbox.github.state import Item, Repo, World

SEARCH_CAP = 1000
STARGAZER_PAGES = 400


def _repo(world: World, request: web.Request) -> Repo:
    """Return the repository a path names (any case); a renamed or transferred one answers 301."""
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    repo = world.find_repo(full_name, follow=False)
    if repo is None:
        moved = world.find_repo(full_name)
        if moved is not None:
            raise Moved(full_name, moved.full_name)
        raise NotFound
    return repo


def _number(request: web.Request) -> int:
    return int(request.match_info["number"])


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(f"invalid since {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sorted(items: list[Item], sort: str, direction: str) -> list[Item]:
    attribute = "updated_at" if sort == "updated" else "created_at"
    return sorted(items, key=lambda item: (getattr(item, attribute), item.number), reverse=direction == "desc")


class RestApi:
    """Route handlers; each reads the world and renders JSON rooted at the emulator's URL."""

    def __init__(self, world: World, render: Renderer, gate: Gate, graphql: GraphQLApi) -> None:
        self.world = world
        self.render = render
        self.gate = gate
        self.graphql = graphql

    def routes(self) -> list[web.RouteDef]:
        """Return every REST and GraphQL route."""
        repo = "/repos/{owner}/{repo}"
        return [
            web.get("/user", self.authenticated_user),
            web.get(r"/user/{account_id:\d+}", self.user_by_id),
            web.get("/users/{login}", self.user),
            web.get("/users/{login}/gists", self.user_gists),
            web.get(repo, self.repository),
            web.get(f"{repo}/pulls", self.pulls),
            web.get(rf"{repo}/pulls/{{number:\d+}}", self.pull),
            web.get(rf"{repo}/pulls/{{number:\d+}}/reviews", self.reviews),
            web.get(rf"{repo}/pulls/{{number:\d+}}/reviews/{{review_id:\d+}}", self.review),
            web.get(rf"{repo}/pulls/{{number:\d+}}/requested_reviewers", self.requested_reviewers),
            web.get(f"{repo}/issues", self.issues),
            web.get(f"{repo}/issues/events", self.repo_events),
            web.get(rf"{repo}/issues/{{number:\d+}}", self.issue),
            web.get(rf"{repo}/issues/{{number:\d+}}/events", self.issue_events),
            web.get(rf"{repo}/issues/{{number:\d+}}/timeline", self.timeline),
            web.get(rf"{repo}/issues/events/{{event_id:\d+}}", self.repo_event),
            web.get(f"{repo}/labels/{{name}}", self.label),
            web.get(f"{repo}/stargazers", self.stargazers),
            web.get("/orgs/{org}", self.organization),
            web.get("/orgs/{org}/teams/{slug}", self.team),
            web.get("/search/issues", self.search_issues),
            web.get("/gists/{gist_id}", self.gist),
            web.get("/gist-raw/{owner}/{gist_id}/raw/{filename}", self.gist_raw),
            web.get("/gist/{owner}/{gist_id}", self.gist_page),
            web.get("/rate_limit", self.rate_limit),
            web.post("/graphql", self.graphql_query),
        ]

    def _page(
        self, request: web.Request, rows: list[Any], cap: int | None = None, max_pages: int | None = None
    ) -> tuple[list[Any], str | None]:
        return paginate(self.render.base, request, rows, cap, max_pages)

    # accounts -------------------------------------------------------------------------------------------------
    async def authenticated_user(self, request: web.Request) -> web.Response:
        """GET /user: the token's owner."""
        data = self.render.full_user(request[LOGIN])
        data.update({"private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0, "collaborators": 0})
        return json_reply(data)

    async def user(self, request: web.Request) -> web.Response:
        """GET /users/{login}."""
        return json_reply(self.render.full_user(self.world.find_user(request.match_info["login"]).login))

    async def user_by_id(self, request: web.Request) -> web.Response:
        """GET /user/{account_id}."""
        user = self.world.users_by_id.get(int(request.match_info["account_id"]))
        if user is None:
            raise NotFound
        return json_reply(self.render.full_user(user.login))

    # repositories and pulls -----------------------------------------------------------------------------------
    async def repository(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}."""
        return json_reply(self.render.full_repo(_repo(self.world, request)))

    async def pulls(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/pulls: pull-request-simple items, filtered, sorted and paginated."""
        repo = _repo(self.world, request)
        state = request.query.get("state", "open")
        sort = request.query.get("sort", "created")
        direction = request.query.get("direction", "desc" if sort == "created" else "asc")
        rows = [item for item in repo.items.values() if item.is_pull and state in ("all", item.state)]
        chunk, link = self._page(request, _sorted(rows, sort, direction))
        return json_reply([self.render.pull(repo, item, full=False) for item in chunk], link=link)

    async def pull(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/pulls/{number}: the full pull request (merged, merged_by)."""
        repo = _repo(self.world, request)
        return json_reply(self.render.pull(repo, self.world.pull(repo.full_name, _number(request))))

    async def reviews(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/pulls/{number}/reviews, oldest first."""
        repo = _repo(self.world, request)
        item = self.world.pull(repo.full_name, _number(request))
        chunk, link = self._page(request, item.reviews)
        return json_reply([self.render.review(repo, item, review) for review in chunk], link=link)

    async def review(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/pulls/{number}/reviews/{review_id}."""
        repo = _repo(self.world, request)
        item = self.world.pull(repo.full_name, _number(request))
        wanted = int(request.match_info["review_id"])
        for review in item.reviews:
            if review.id == wanted:
                return json_reply(self.render.review(repo, item, review))
        raise NotFound

    async def requested_reviewers(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/pulls/{number}/requested_reviewers."""
        repo = _repo(self.world, request)
        item = self.world.pull(repo.full_name, _number(request))
        users = [self.render.user(login) for login in item.requested_reviewers]
        teams = [self.render.team(self.world.team(repo.owner, slug)) for slug in item.requested_teams]
        return json_reply({"users": users, "teams": teams})

    # issues ---------------------------------------------------------------------------------------------------
    async def issues(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues: issues and pull requests (with ``pull_request``)."""
        repo = _repo(self.world, request)
        query = request.query
        state = query.get("state", "open")
        since = _since(query.get("since"))
        labels = {name.strip() for name in query.get("labels", "").split(",") if name.strip()}
        creator = query.get("creator", "").lower()
        rows = [
            item
            for item in repo.items.values()
            if state in ("all", item.state)
            and (since is None or item.updated_at >= since)
            and labels.issubset(item.labels)
            and (not creator or item.author.lower() == creator)
        ]
        rows = _sorted(rows, query.get("sort", "created"), query.get("direction", "desc"))
        chunk, link = self._page(request, rows)
        return json_reply([self.render.issue(repo, item) for item in chunk], link=link)

    async def issue(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues/{number} (with ``closed_by``)."""
        repo = _repo(self.world, request)
        return json_reply(self.render.issue(repo, self.world.item(repo.full_name, _number(request)), full=True))

    async def issue_events(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues/{number}/events, oldest first."""
        repo = _repo(self.world, request)
        item = self.world.item(repo.full_name, _number(request))
        chunk, link = self._page(request, item.events)
        return json_reply([self.render.event(repo, item, event) for event in chunk], link=link)

    async def timeline(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues/{number}/timeline: events plus reviews, oldest first."""
        repo = _repo(self.world, request)
        chunk, link = self._page(request, self.render.timeline(repo, self.world.item(repo.full_name, _number(request))))
        return json_reply(chunk, link=link)

    async def repo_events(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues/events: every issue event of the repository, newest first."""
        repo = _repo(self.world, request)
        rows = [(event, item) for item in repo.items.values() for event in item.events]
        rows.sort(key=lambda pair: pair[0].id, reverse=True)
        chunk, link = self._page(request, rows)
        return json_reply([self.render.event(repo, item, event, with_issue=True) for event, item in chunk], link=link)

    async def repo_event(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/issues/events/{event_id}."""
        repo = _repo(self.world, request)
        wanted = int(request.match_info["event_id"])
        for item in repo.items.values():
            for event in item.events:
                if event.id == wanted:
                    return json_reply(self.render.event(repo, item, event, with_issue=True))
        raise NotFound

    async def label(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/labels/{name}."""
        repo = _repo(self.world, request)
        if request.match_info["name"] not in repo.labels:
            raise NotFound
        return json_reply(self.render.label(repo, request.match_info["name"]))

    async def organization(self, request: web.Request) -> web.Response:
        """GET /orgs/{org}."""
        user = self.world.find_user(request.match_info["org"])
        if user.type != "Organization":
            raise NotFound
        return json_reply({**self.render.full_user(user.login), **self.render.org(user.login)})

    async def team(self, request: web.Request) -> web.Response:
        """GET /orgs/{org}/teams/{slug} (teams exist once asked for a review)."""
        org = self.world.find_user(request.match_info["org"]).login
        team = self.world.teams.get((org, request.match_info["slug"]))
        if team is None:
            raise NotFound
        return json_reply({**self.render.team(team), "members_count": 0, "repos_count": 0})

    async def stargazers(self, request: web.Request) -> web.Response:
        """GET /repos/{owner}/{repo}/stargazers; the star media type adds ``starred_at``."""
        repo = _repo(self.world, request)
        rows = sorted(repo.stars.items(), key=lambda pair: (pair[1], pair[0]))
        chunk, link = self._page(request, rows, max_pages=STARGAZER_PAGES)
        if "star+json" in request.headers.get("Accept", ""):
            data = [{"starred_at": iso(when), "user": self.render.user(login)} for login, when in chunk]
        else:
            data = [self.render.user(login) for login, _ in chunk]
        return json_reply(data, link=link)

    async def search_issues(self, request: web.Request) -> web.Response:
        """GET /search/issues: ``total_count``, ``incomplete_results`` and the page of items."""
        q = request.query.get("q", "")
        if not q.strip():
            return error_reply(422, "Validation Failed")
        found = search_items(list(self.world.repos.values()), q, request.query.get("sort"), request.query.get("order"))
        chunk, link = self._page(request, found, cap=SEARCH_CAP)
        items = [{**self.render.issue(repo, item), "score": 1.0} for repo, item in chunk]
        return json_reply(
            {"total_count": len(found), "incomplete_results": False, "search_type": "lexical", "items": items},
            link=link,
        )

    # gists ----------------------------------------------------------------------------------------------------
    async def gist(self, request: web.Request) -> web.Response:
        """GET /gists/{gist_id}."""
        gist = self.world.gists.get(request.match_info["gist_id"])
        if gist is None:
            raise NotFound
        return json_reply(self.render.gist(gist))

    async def user_gists(self, request: web.Request) -> web.Response:
        """GET /users/{login}/gists, newest first, without file contents."""
        login = self.world.find_user(request.match_info["login"]).login
        rows = sorted((g for g in self.world.gists.values() if g.owner == login), key=lambda g: g.created_at)
        chunk, link = self._page(request, rows[::-1])
        return json_reply([self.render.gist(gist, with_content=False) for gist in chunk], link=link)

    async def gist_raw(self, request: web.Request) -> web.Response:
        """GET a gist file's ``raw_url`` (no token needed, like gist.githubusercontent.com)."""
        gist = self.world.gists.get(request.match_info["gist_id"])
        content = None if gist is None else gist.files.get(request.match_info["filename"])
        if content is None:
            return web.Response(status=404, text="404: Not Found")
        return web.Response(text=content, content_type="text/plain")

    async def gist_page(self, request: web.Request) -> web.Response:
        """GET a gist's ``html_url``."""
        gist = self.world.gists.get(request.match_info["gist_id"])
        if gist is None:
            return web.Response(status=404, text="Not Found")
        text = "".join(f"<h2>{name}</h2><pre>{body}</pre>" for name, body in gist.files.items())
        return web.Response(text=f"<!doctype html><title>{gist.id}</title>{text}", content_type="text/html")

    # limits and GraphQL ---------------------------------------------------------------------------------------
    async def rate_limit(self, request: web.Request) -> web.Response:
        """GET /rate_limit (free)."""
        resources = {name: bucket.as_json() for name, bucket in self.gate.buckets.items()}
        return json_reply({"resources": resources, "rate": resources["core"]})

    async def graphql_query(self, request: web.Request) -> web.Response:
        """POST /graphql: checked against GitHub's schema, then executed; refusals come as HTTP 200 ``errors``."""
        try:
            body: JSON = json.loads(await request.read())
        except ValueError:
            return error_reply(400, "Problems parsing JSON", "https://docs.github.com/graphql")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return error_reply(400, "A query attribute must be specified and must be a string.")
        variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
        name = body.get("operationName") if isinstance(body.get("operationName"), str) else None
        self.graphql.received.append((body["query"], dict(variables)))
        checked = self.graphql.check(body["query"], variables, name)
        if checked.errors:
            code = checked.errors[0].get("type") or checked.errors[0].get("extensions", {}).get("code")
            self.gate.reject(request, 200, checked.errors[0]["message"], code, errors=checked.errors)
            return json_reply({"errors": checked.errors})
        fault = self.gate.take_graphql_fault(checked.nodes)
        if fault is not None:
            request[INJECTED] = True  # asked for with POST /github/faults: not a refusal of the bot
        if fault is not None and fault.status == "graphql-rate-limited":
            return self.gate.graphql_limited(request.get(LOGIN), fault.retry_after)
        if fault is not None:
            message = (
                "Something went wrong while executing your query. This may be the result of a timeout, or it could "
                f"be a GitHub bug. Please include `{uuid.uuid4().hex[:20].upper()}` when reporting this issue."
            )
            return json_reply({"data": None, "errors": [{"message": message}]}, status=502)
        bucket = self.gate.buckets["graphql"]
        bucket.used += checked.cost - 1
        rate = RateInfo(bucket.limit, max(bucket.remaining - 1, 0), bucket.used + 1, bucket.reset)
        answer = self.graphql.run(checked, variables, name, rate)
        if answer.get("errors"):
            self.gate.reject(
                request, 200, answer["errors"][0]["message"], answer["errors"][0].get("type"), errors=answer["errors"]
            )
        return json_reply(answer)
