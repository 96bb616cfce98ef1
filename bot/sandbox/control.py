"""The sandbox's control API (JSON over HTTP), exactly as ``SANDBOX_API.md`` describes it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.sandbox.control_http import BadRequest, Running, json_response, need, read_body
from bot.sandbox.github.webhooks import HOLD
from bot.sandbox.github_control import add_github_routes
from bot.timeutil import parse_iso

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        raise BadRequest(f"not an ISO-8601 time: {value!r}") from None


def _deliver(request: web.Request) -> bool:
    """``?deliver=false`` changes silently; ``?deliver=hold`` sends, but holds the webhooks (see ``_guard``)."""
    return request.query.get("deliver", "true").lower() not in {"false", "0", "no"}


def _repo(request: web.Request) -> str:
    return f"{request.match_info['owner']}/{request.match_info['repo']}"


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        # ?deliver=hold: this request's webhooks wait for /github/deliveries/release (reset after the request,
        # as a keep-alive connection serves its next request in the same task)
        hold = HOLD.set(request.query.get("deliver", "").lower() == "hold")
        try:
            return await handler(request)
        except BadRequest as exc:
            return json_response({"error": str(exc)}, 400)
        except (KeyError, LookupError) as exc:
            return json_response({"error": f"not found: {exc.args[0] if exc.args else exc}"}, 404)
        except TimeoutError as exc:
            return json_response({"error": f"timed out: {exc}"}, 504)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        finally:
            HOLD.reset(hold)

    return wrapped


def control_app(sandbox: Running) -> web.Application:
    """Build the control API for a running sandbox."""
    discord, github = sandbox.discord, sandbox.github
    routes = web.RouteTableDef()

    @routes.get("/discord/state")
    async def state(request: web.Request) -> web.Response:
        return json_response(discord.state())

    @routes.post("/discord/members")
    async def add_member(request: web.Request) -> web.Response:
        (name,) = need(await read_body(request), "name")
        return json_response({"id": str(await discord.add_member(str(name)))})

    @routes.delete("/discord/members/{member}")
    async def remove_member(request: web.Request) -> web.Response:
        await discord.remove_member(request.match_info["member"])
        return json_response({})

    @routes.post("/discord/members/{member}/roles/{role}")
    async def add_role(request: web.Request) -> web.Response:
        await discord.add_role(request.match_info["member"], request.match_info["role"])
        return json_response({})

    @routes.delete("/discord/members/{member}/roles/{role}")
    async def remove_role(request: web.Request) -> web.Response:
        await discord.remove_role(request.match_info["member"], request.match_info["role"])
        return json_response({})

    @routes.get("/discord/messages")
    async def messages(request: web.Request) -> web.Response:
        channel = request.query.get("channel")
        if not channel:
            raise BadRequest("give ?channel=<name or id> or ?channel=dm:<member>")
        return json_response(discord.messages(channel))

    @routes.post("/discord/commands")
    async def command(request: web.Request) -> web.Response:
        body = await read_body(request)
        member, name = need(body, "member", "command")
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise BadRequest("options must be an object")
        locale, dm = str(body.get("locale") or "en-US"), bool(body.get("dm", False))
        try:
            if "target_message" in body or "target_member" in body:
                result = await discord.invoke_menu(
                    member,
                    str(name),
                    message=body.get("target_message"),
                    member=body.get("target_member"),
                    locale=locale,
                )
            else:
                result = await discord.invoke_command(member, str(name), options, locale=locale, dm=dm)
        except KeyError:
            raise
        except LookupError as exc:
            return json_response({"error": f"no such command: {exc}"}, 404)
        return json_response(result)

    @routes.post("/discord/components")
    async def component(request: web.Request) -> web.Response:
        member, message, custom_id = need(await read_body(request), "member", "message", "custom_id")
        return json_response(await discord.click_component(member, message, str(custom_id)))

    @routes.post("/discord/faults")
    async def discord_fault(request: web.Request) -> web.Response:
        body = await read_body(request)
        method, route, status = need(body, "method", "route", "status")
        discord.add_fault(
            str(method), str(route), int(status), int(body.get("times", 1)), float(body.get("retry_after", 0.5))
        )
        return json_response({})

    @routes.delete("/discord/faults")
    async def discord_clear(request: web.Request) -> web.Response:
        discord.clear_faults()
        return json_response({})

    @routes.post("/discord/disconnect")
    async def disconnect(request: web.Request) -> web.Response:
        await discord.disconnect()
        return json_response({})

    from bot.sandbox.control_discord import add_strict_discord_routes  # it uses this module's helpers

    add_strict_discord_routes(routes, sandbox)

    @routes.post("/github/users")
    async def gh_user(request: web.Request) -> web.Response:
        body = await read_body(request)
        (login,) = need(body, "login")
        return json_response(await github.create_user(str(login), body.get("type", "User"), deliver=_deliver(request)))

    @routes.post("/github/repos")
    async def gh_repo(request: web.Request) -> web.Response:
        (name,) = need(await read_body(request), "full_name")
        return json_response(await github.create_repo(str(name), deliver=_deliver(request)))

    @routes.post("/github/pulls")
    async def gh_pull(request: web.Request) -> web.Response:
        body = await read_body(request)
        repo, author, title = need(body, "repo", "author", "title")
        return json_response(
            await github.open_pull(
                repo,
                author,
                title,
                draft=bool(body.get("draft", False)),
                labels=list(body.get("labels") or []),
                deliver=_deliver(request),
            )
        )

    @routes.post("/github/pulls/{owner}/{repo}/{number}/merge")
    async def gh_merge(request: web.Request) -> web.Response:
        body = await read_body(request)
        (by,) = need(body, "by")
        return json_response(
            await github.merge_pull(
                _repo(request),
                int(request.match_info["number"]),
                by,
                merged_at=_when(body.get("merged_at")),
                deliver=_deliver(request),
            )
        )

    def simple(action: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            method = getattr(github, f"{action}_pull")
            return json_response(
                await method(_repo(request), int(request.match_info["number"]), deliver=_deliver(request))
            )

        return handler

    for action in ("close", "ready", "draft"):
        routes.post(f"/github/pulls/{{owner}}/{{repo}}/{{number}}/{action}")(simple(action))

    @routes.post("/github/pulls/{owner}/{repo}/{number}/review-requests")
    async def gh_request(request: web.Request) -> web.Response:
        body = await read_body(request)
        return json_response(
            await github.request_reviews(
                _repo(request),
                int(request.match_info["number"]),
                reviewers=list(body.get("reviewers") or []),
                teams=list(body.get("teams") or []),
                deliver=_deliver(request),
            )
        )

    @routes.delete("/github/pulls/{owner}/{repo}/{number}/review-requests")
    async def gh_unrequest(request: web.Request) -> web.Response:
        body = await read_body(request)
        return json_response(
            await github.remove_review_requests(
                _repo(request),
                int(request.match_info["number"]),
                reviewers=list(body.get("reviewers") or []),
                teams=list(body.get("teams") or []),
                deliver=_deliver(request),
            )
        )

    @routes.post("/github/pulls/{owner}/{repo}/{number}/reviews")
    async def gh_review(request: web.Request) -> web.Response:
        body = await read_body(request)
        by, review_state = need(body, "by", "state")
        if str(review_state).upper() not in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"}:
            raise BadRequest("state must be APPROVED, CHANGES_REQUESTED or COMMENTED")
        return json_response(
            await github.submit_review(
                _repo(request),
                int(request.match_info["number"]),
                by,
                str(review_state).upper(),
                deliver=_deliver(request),
            )
        )

    @routes.post("/github/issues")
    async def gh_issue(request: web.Request) -> web.Response:
        body = await read_body(request)
        repo, author, title = need(body, "repo", "author", "title")
        return json_response(
            await github.open_issue(
                repo, author, title, labels=list(body.get("labels") or []), deliver=_deliver(request)
            )
        )

    @routes.post("/github/issues/{owner}/{repo}/{number}/close")
    async def gh_close_issue(request: web.Request) -> web.Response:
        body = await read_body(request)
        (by,) = need(body, "by")
        number = int(request.match_info["number"])
        reason = str(body.get("reason", "completed"))
        return json_response(
            await github.close_issue(_repo(request), number, by, deliver=_deliver(request), reason=reason)
        )

    @routes.post("/github/stars")
    async def gh_star(request: web.Request) -> web.Response:
        body = await read_body(request)
        if "count" in body:
            (repo,) = need(body, "repo")
            return json_response(await github.star_many(str(repo), int(body["count"])))
        repo, user = need(body, "repo", "user")
        return json_response(await github.star(repo, user, deliver=_deliver(request)))

    @routes.post("/github/history")
    async def gh_history(request: web.Request) -> web.Response:
        repo, pulls = need(await read_body(request), "repo", "pulls")
        if not isinstance(pulls, list):
            raise BadRequest("pulls must be a list")
        result = await github.load_history(repo, pulls)
        return json_response({"delivery": None, **(result or {})})

    @routes.post("/github/device/approve")
    async def gh_device(request: web.Request) -> web.Response:
        body = await read_body(request)
        (code,) = need(body, "user_code")
        if body.get("deny"):
            return json_response(await github.device_deny(code))
        (login,) = need(body, "login")
        return json_response(await github.device_approve(code, login))

    @routes.post("/github/gists")
    async def gh_gist(request: web.Request) -> web.Response:
        owner, content = need(await read_body(request), "owner", "content")
        return json_response(await github.create_gist(owner, content))

    @routes.post("/github/faults")
    async def gh_fault(request: web.Request) -> web.Response:
        body = await read_body(request)
        (status,) = need(body, "status")
        graphql = isinstance(status, str) and status.startswith("graphql-")
        method = body.get("method", "POST" if graphql else None)
        route = body.get("route", "/graphql" if graphql else None)
        if method is None or route is None:
            raise BadRequest("missing field(s): method, route")
        github.add_fault(
            str(method),
            str(route),
            status if isinstance(status, str) and not status.isdigit() else int(status),
            int(body.get("times", 1)),
            float(body.get("retry_after", 1)),
            None if body.get("max_nodes") is None else int(body["max_nodes"]),
        )
        return json_response({})

    @routes.delete("/github/faults")
    async def gh_clear(request: web.Request) -> web.Response:
        github.clear_faults()
        return json_response({})

    @routes.post("/clock")
    async def clock(request: web.Request) -> web.Response:
        body = await read_body(request)
        if "now" in body:
            when = _when(body["now"])
            if when is None:
                raise BadRequest("now must be an ISO-8601 time")
            sandbox.clock.set(when)
        elif "advance" in body:
            sandbox.clock.advance(float(body["advance"]))
        return json_response({"now": sandbox.clock.now().isoformat()})

    @routes.get("/jobs")
    async def jobs(request: web.Request) -> web.Response:
        infos = await sandbox.services.jobs.info()
        return json_response([info.__dict__ for info in infos])

    @routes.post("/jobs/{name}/run")
    async def run_job(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in sandbox.services.jobs.names():
            return json_response({"error": f"no job named {name}", "jobs": sandbox.services.jobs.names()}, 404)
        ok = await sandbox.services.jobs.run(name)
        return json_response({"name": name, "ok": ok})

    @routes.post("/settle")
    async def settle(request: web.Request) -> web.Response:
        remaining = await sandbox.settle()
        if any(remaining.values()):
            return json_response({"error": "not settled after 30 s", "remaining": remaining}, 504)
        return json_response({"settled": True})

    @routes.get("/requests")
    async def requests(request: web.Request) -> web.Response:
        return json_response({"github": github.request_counts(), "discord": discord.request_counts()})

    @routes.get("/discord/rejections")
    async def discord_rejections(request: web.Request) -> web.Response:
        return json_response(discord.rest.rejections.list())

    @routes.get("/github/rejections")
    async def github_rejections(request: web.Request) -> web.Response:
        return json_response(github.gate.rejections.list())

    add_github_routes(routes, github, read_body)
    app = web.Application()
    for route in routes:
        assert isinstance(route, web.RouteDef)
        app.router.add_route(route.method, route.path, _guard(route.handler))  # type: ignore[arg-type]
    return app
