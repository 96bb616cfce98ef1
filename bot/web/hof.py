"""The hall of fame on the web: server-rendered pages, the JSON API and the SVG badge, with strict headers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from bot.config.models import HallOfFameSettings
from bot.errors import UserFacingError
from bot.services.halloffame import EMOJI, SCHEMA, Contributor, Filters, HallOfFame
from bot.services.recognition import RECOGNITION_KINDS
from bot.web import svg

SORT_LABELS = (("count", "Most contributions"), ("first", "First contribution"), ("newest", "Newest"), ("name", "Name"))
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
STATIC = {"hof.css": "text/css", "hof.js": "text/javascript"}
KIND_LABELS = {**RECOGNITION_KINDS, "code": "Code", "review": "Reviewing"}
WALL_MAX = 100


def contrast_text(colour: str) -> str:
    """Pick black or white text for a background colour, whichever reads better."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    channel = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    luminance = 0.2126 * channel[0] + 0.7152 * channel[1] + 0.0722 * channel[2]
    return "#000000" if luminance > 0.179 else "#ffffff"


def lighten(colour: str, amount: float = 0.45) -> str:
    """Mix a colour with white, for links and badges on the dark theme."""
    mixed = (round(int(colour[i : i + 2], 16) + (255 - int(colour[i : i + 2], 16)) * amount) for i in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def web_url(url: str | None) -> str:
    """Pass http(s) links through; anything else (``javascript:``…) becomes a harmless ``#``."""
    return url if url and url.lower().startswith(("https://", "http://")) else "#"


def origin(url: str) -> str:
    """The scheme and host of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HallOfFameSite:
    """Serve /, /people/{login}, /api/contributors[/{login}], /badge/contributors.svg and their static files."""

    def __init__(self, service: HallOfFame, settings: HallOfFameSettings, profile_base: str) -> None:
        self.service = service
        self.settings = settings
        self.github = profile_base.rstrip("/")
        self.images = {origin(item) for item in settings.image_origins}
        logo = settings.logo_url if settings.logo_url and origin(settings.logo_url) in self.images else None
        accent = settings.accent_color.lower()
        dark = lighten(accent)
        self.theme = (
            f":root {{ --accent: {accent}; --accent-text: {contrast_text(accent)}; "
            f"--accent-dark: {dark}; --accent-dark-text: {contrast_text(dark)}; }}\n"
        )
        self.csp = (
            "default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: {' '.join(sorted(self.images))}; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'"
        ).replace("  ", " ")
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("bot.web", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["avatar"] = self.avatar
        self.env.filters["web_url"] = web_url
        self.env.globals.update(
            site={
                "title": f"{self.project} hall of fame",
                "project": self.project,
                "logo_url": logo,
                "theme_version": hashlib.sha256(self.theme.encode()).hexdigest()[:8],
            },
            github=self.github,
            emoji=EMOJI,
            kind_labels=KIND_LABELS,
            tiers=service.tiers,
            repos=service.repositories,
            sorts=SORT_LABELS,
        )

    @property
    def project(self) -> str:
        """The name shown: configured, else the first followed repository's (a GitHub App's may come later)."""
        repositories = self.service.repositories
        return self.settings.project_name or (repositories[0].split("/")[-1] if repositories else "the project")

    def mount(self, app: web.Application) -> None:
        """Add the routes to the web server's application."""
        app.router.add_get("/", self.index)
        app.router.add_get("/people/{login}", self.person)
        app.router.add_get("/api/contributors", self.api_list)
        app.router.add_get("/api/contributors/{login}", self.api_person)
        app.router.add_get("/badge/contributors.svg", self.badge)
        app.router.add_get("/avatar/{login}.svg", self.initials)
        app.router.add_get("/static/theme.css", self.theme_css)
        app.router.add_get("/static/{name}", self.static)

    async def close(self) -> None:
        """Stop the service's pending rebuild."""
        await self.service.close()

    def avatar(self, person: Contributor) -> str:
        """Where a contributor's avatar loads from: an allowed origin, else the bot's own initials drawing."""
        for url in (person.discord_avatar, person.avatar_url):
            if url and origin(url) in self.images:
                return url
        return f"/avatar/{person.login}.svg"

    # pages ---------------------------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.StreamResponse:
        """Render the list of contributors with its filters."""
        try:
            filters = self.filters(request)
            page = await self.service.page(filters)
        except UserFacingError as exc:
            return self.html(request, "error.html.j2", 400, heading="That filter does not work", message=str(exc))

        def link(**changes: Any) -> str:
            values = {**dataclasses.asdict(filters), **changes}
            values.pop("per_page")
            return "/?" + urlencode({key: value for key, value in values.items() if value not in (None, "")})

        newcomers = self.service.newcomers if not (filters.tier or filters.kind or filters.repo) else []
        return self.html(request, "index.html.j2", 200, page=page, newcomers=newcomers, link=link)

    async def person(self, request: web.Request) -> web.StreamResponse:
        """Render one contributor's page."""
        login = request.match_info["login"]
        found = await self.service.person(login) if LOGIN.match(login) else None
        if found is None:
            message = "Nobody by that GitHub login is in the hall of fame (yet)."
            return self.html(request, "error.html.j2", 404, heading="Not found", message=message)
        return self.html(request, "person.html.j2", 200, person=found)

    # API and badge -------------------------------------------------------------------------------------------
    async def api_list(self, request: web.Request) -> web.StreamResponse:
        """Answer one page of contributors as JSON (schema ``vestry.hall-of-fame/1``)."""
        try:
            filters = self.filters(request)
            page = await self.service.page(filters)
        except UserFacingError as exc:
            return self.json(request, {"schema": SCHEMA, "error": str(exc)}, 400)
        body = {
            "schema": SCHEMA,
            "project": self.project,
            "filters": {k: v for k, v in dataclasses.asdict(filters).items() if k not in ("page", "per_page")},
            "page": filters.page,
            "per_page": filters.per_page,
            "pages": page.pages,
            "total": page.matched,
            "contributors": [self.person_json(person) for person in page.contributors],
        }
        return self.json(request, body, 200)

    async def api_person(self, request: web.Request) -> web.StreamResponse:
        """Answer one contributor as JSON, with per-repository counts."""
        login = request.match_info["login"]
        found = await self.service.person(login) if LOGIN.match(login) else None
        if found is None:
            return self.json(request, {"schema": SCHEMA, "error": "no such contributor"}, 404)
        body = {
            "schema": SCHEMA,
            "contributor": self.person_json(found.everywhere),
            "repositories": {repo: self.person_json(row) for repo, row in sorted(found.per_repo.items())},
        }
        return self.json(request, body, 200)

    async def badge(self, request: web.Request) -> web.StreamResponse:
        """Draw the contributors badge, or with ``?style=wall`` a wall of the most active contributors."""
        if request.query.get("style") == "wall":
            page = await self.service.page(Filters(sort="count", per_page=WALL_MAX))
            text = svg.wall(page.contributors)
        else:
            await self.service.fresh()
            text = svg.badge("contributors", str(self.service.contributors), self.settings.accent_color)
        return self.respond(request, text.encode(), "image/svg+xml", 200)

    async def initials(self, request: web.Request) -> web.StreamResponse:
        """Draw an initials avatar for a login."""
        login = request.match_info["login"]
        if not LOGIN.match(login):
            raise web.HTTPNotFound()
        return self.respond(request, svg.initials_avatar(login).encode(), "image/svg+xml", 200, static=True)

    async def theme_css(self, request: web.Request) -> web.StreamResponse:
        """Serve the colours from the settings."""
        return self.respond(request, self.theme.encode(), "text/css", 200, static=True)

    async def static(self, request: web.Request) -> web.StreamResponse:
        """Serve the page's stylesheet and script."""
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        body = resources.files("bot.web").joinpath("static", name).read_bytes()
        return self.respond(request, body, STATIC[name], 200, static=True)

    # helpers -------------------------------------------------------------------------------------------------
    def filters(self, request: web.Request) -> Filters:
        """Read the filters from the query string, saying plainly which one is wrong."""
        query = request.query
        numbers: dict[str, int] = {}
        for key, default in (("page", 1), ("per_page", self.settings.per_page)):
            text = query.get(key, "") or str(default)
            if not text.isdigit() or len(text) > 6:
                raise UserFacingError(f"{key} must be a whole number, not {text[:20]!r}")
            numbers[key] = int(text)
        tier = query.get("tier") or None
        if tier is not None and tier not in self.service.tiers:
            raise UserFacingError(f"{tier[:60]!r} is not one of the ladder's tiers")
        kind = query.get("kind") or None
        if kind is not None and kind not in KIND_LABELS:
            raise UserFacingError(f"{kind[:60]!r} is not a contribution kind")
        return Filters(tier, kind, query.get("repo") or None, query.get("sort") or "count", **numbers)

    def person_json(self, person: Contributor) -> dict[str, Any]:
        """Describe a contributor in the API's schema."""
        first = person.first_pr
        return {
            "login": person.login,
            "github_id": person.github_id,
            "profile": f"{self.github}/{person.login}",
            "avatar_url": person.avatar_url,
            "name": person.discord_name,
            "discord_avatar_url": person.discord_avatar,
            "tier": person.tier,
            "first_contribution_at": person.first_at.isoformat() if person.first_at else None,
            "first_pull_request": None
            if first is None
            else {
                "repository": first.repo,
                "number": first.number,
                "title": first.title,
                "url": first.url,
                "merged_at": first.merged_at.isoformat() if first.merged_at else None,
            },
            "counts": {
                "merged_pull_requests": person.merged_prs,
                "reviews": person.reviews,
                "issues_closed": person.issues_closed,
                "merges_of_others": person.merges,
                "kudos_received": person.kudos,
            },
            "kinds": [{"kind": k, "emoji": EMOJI.get(k), "count": n} for k, n in sorted(person.kinds.items())],
        }

    def html(self, request: web.Request, template: str, status: int, **context: Any) -> web.StreamResponse:
        """Render a template into a response."""
        text = self.env.get_template(template).render(**context)
        return self.respond(request, text.encode(), "text/html", status)

    def json(self, request: web.Request, body: dict[str, Any], status: int) -> web.StreamResponse:
        """Answer JSON."""
        return self.respond(request, json.dumps(body, ensure_ascii=False).encode(), "application/json", status)

    def respond(
        self, request: web.Request, body: bytes, kind: str, status: int, *, static: bool = False
    ) -> web.StreamResponse:
        """Answer with strict headers, an ETag, and 304 when the client's copy is current."""
        tag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
        headers = {
            "Content-Security-Policy": self.csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            # Pages are revalidated every time (a cheap 304 when unchanged), so /forget is never served from a cache.
            "Cache-Control": "public, max-age=3600" if static else "public, no-cache",
            "ETag": tag,
        }
        if kind == "application/json":
            headers["Access-Control-Allow-Origin"] = "*"
        if status == 200 and tag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, status=status, content_type=kind, charset="utf-8", headers=headers)
