"""The GitHub emulator: an aiohttp server that unmodified PyGithub talks to, plus a webhook sender."""

from __future__ import annotations

import copy
import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from bot.sandbox.github import accounts
from bot.sandbox.github.app_api import AppApi
from bot.sandbox.github.base import TOKEN_OWNER
from bot.sandbox.github.comments import CommentsApi, render_comment
from bot.sandbox.github.history import load_rows
from bot.sandbox.github.installs import Installations
from bot.sandbox.github.pulls import PullRequests
from bot.sandbox.github.rest import RestApi
from bot.sandbox.github.server import GRAPHQL_FAULTS, SECONDARY_FAULTS, Fault
from bot.sandbox.github.state import Gist, Repo

log = logging.getLogger(__name__)

FAULT_STATUSES = {403, 429, 500, 502, 503, 504}


class GitHubEmulator(PullRequests, Installations):
    """A small, faithful GitHub: REST, GraphQL backfill, device flow, gists, and signed webhooks.

    Construct with ``clock=`` (and optionally ``token=``), ``await start()``, point PyGithub at :attr:`url`.
    Mutators change state, then deliver the webhook(s) GitHub would send before returning
    ``{"delivery": id or None, "deliveries": [ids], ...}``; ``deliver=False`` changes state silently.
    Unknown repositories and numbers raise KeyError; changes GitHub would refuse raise ValueError.
    """

    # lifecycle ------------------------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 picks a free port) and set :attr:`url`."""
        app = web.Application(middlewares=[self.gate.middleware])
        app.add_routes(AppApi(self).routes())
        app.add_routes(RestApi(self.world, self.render, self.gate, self.graphql).routes())
        app.add_routes(CommentsApi(self.world, self.render, self.gate, self.clock).routes())
        app.add_routes(
            [
                web.post("/login/device/code", self.device.handle_code),
                web.post("/login/oauth/access_token", self.device.handle_token),
                web.get("/login/device", self.device.handle_page),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.render.reset(self.url)
        self.device.base = self.url
        log.info("GitHub emulator listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving and close the webhook session."""
        await self.hooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # accounts and repositories --------------------------------------------------------------------------------
    async def create_user(self, login: str, type: str = "User", deliver: bool = True) -> dict[str, Any]:
        """Create a GitHub account (``User``, ``Bot`` or ``Organization``); existing ones are returned as is."""
        if type not in ("User", "Bot", "Organization"):
            raise ValueError(f"unknown account type {type!r}")
        user = self.world.ensure_user(login, type, self._now())
        kind = "Bot" if user.is_bot else user.type
        return {"id": user.id, "login": user.login, "type": kind, "delivery": None}

    def set_next_id(self, kind: str, value: int) -> None:
        """Make the next ``kind`` id (``review``, ``pull``, ``issue``, ...) ``value`` (GitHub has ids above 2^31)."""
        self.world.set_next_id(kind, value)

    async def rename_user(self, login: str, new_login: str) -> dict[str, Any]:
        """Rename an account; its id stays, and everything it wrote shows the new login."""
        user = accounts.rename_user(self.world, login, new_login)
        self.render.reset(self.url)
        return accounts.summary(user)

    async def delete_user(self, login: str) -> dict[str, Any]:
        """Delete an account: everything it wrote now shows ``ghost`` (id 10137); its stars are gone."""
        user = accounts.delete_user(self.world, login, self._now())
        self.render.reset(self.url)
        return {**accounts.summary(user), "ghost": accounts.GHOST_ID}

    async def rename_repo(self, full_name: str, new_full_name: str, deliver: bool = True) -> dict[str, Any]:
        """Rename or transfer a repository: the id stays, old paths answer 301, webhooks carry the new name."""
        repo, old = accounts.rename_repo(self.world, full_name, new_full_name, self._now())
        self.render.reset(self.url)
        old_owner, _, old_name = old.partition("/")
        if old_owner != repo.owner:
            action, changes = "transferred", {"owner": {"from": {"user": self.render.user(old_owner)}}}
        else:
            action, changes = "renamed", {"repository": {"name": {"from": old_name}}}
        sender = "maintainer" if "maintainer" in self.world.users else repo.owner
        hooks = [self.payloads.repository(action, repo, sender, changes)] if self._sending(deliver) else []
        return await self._send(hooks, id=repo.id, full_name=repo.full_name, renamed_from=old)

    async def star_many(self, repo: str, count: int) -> dict[str, Any]:
        """Add ``count`` stars from as many new users at once, without webhooks (for pagination caps)."""
        target = self.world.repo(repo)
        added = accounts.star_many(self.world, target, int(count), self._now())
        return {"stars": len(target.stars), "added": len(added), "delivery": None}

    async def release_deliveries(self, order: str = "as-held", seed: int | None = None) -> dict[str, Any]:
        """Deliver the held webhooks in that order (``as-held``, ``reverse`` or ``shuffle``)."""
        ids = await self.hooks.release(order, seed)
        return {"delivery": ids[0] if ids else None, "deliveries": ids}

    async def redeliver(self, delivery: str) -> dict[str, Any]:
        """Deliver a past delivery again, same id and body; KeyError if unknown."""
        record = await self.hooks.redeliver(delivery)
        return {"delivery": delivery, "status": record["status"]}

    def set_bio(self, login: str, bio: str | None) -> None:
        """Set a profile bio (the proof fallback of /link)."""
        self.world.ensure_user(login, "User", self._now()).bio = bio

    async def create_repo(self, full_name: str, deliver: bool = True) -> dict[str, Any]:
        """Create ``owner/name`` (a missing owner becomes an organization); a new repo's webhook is pinged."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"invalid repository name {full_name!r}")
        existing = self.world.repos.get(full_name.lower())
        if existing is not None:
            html_url = self._repo_html(existing)
            return {"id": existing.id, "full_name": existing.full_name, "html_url": html_url, "delivery": None}
        now = self._now()
        login = self.world.ensure_user(owner, "Organization", now).login
        repo = Repo(
            id=self.world.next_id("repo"),
            owner=login,
            name=name,
            created_at=now,
            updated_at=now,
            hook_id=self.world.next_id("hook"),
        )
        self.world.repos[repo.full_name.lower()] = repo
        hooks = [self.payloads.ping(repo, self.hooks.url, self.hooks.secret)] if self._sending(deliver) else []
        return await self._send(hooks, id=repo.id, full_name=repo.full_name, html_url=self._repo_html(repo))

    def _repo_html(self, repo: Repo) -> str:
        return f"{self.url}/{repo.full_name}"

    async def ping(self, repo: str) -> dict[str, Any]:
        """Send a ``ping`` delivery for ``repo`` (as when its webhook is created)."""
        target = self.world.repo(repo)
        return await self._send(
            [self.payloads.ping(target, self.hooks.url, self.hooks.secret)] if self.hooks.active else []
        )

    async def add_member(self, repo: str, login: str, deliver: bool = True, *, by: str | None = None) -> dict[str, Any]:
        """Add a collaborator (``member`` ``added``)."""
        target = self.world.repo(repo)
        member = self._login(login)
        target.members.add(member)
        target.touch()
        sender = self._login(by) if by else target.owner
        hooks = [self.payloads.member(target, member, sender)] if self._sending(deliver) else []
        return await self._send(hooks)

    # issues and stars -----------------------------------------------------------------------------------------
    async def open_issue(
        self,
        repo: str,
        author: str,
        title: str,
        labels: Iterable[str] = (),
        deliver: bool = True,
        *,
        body: str | None = None,
    ) -> dict[str, Any]:
        """Open an issue: ``opened``, then one ``labeled`` per label."""
        target = self.world.repo(repo)
        login = self._login(author)
        item = self._new_item(target, login, title, body, is_pull=False)
        added = self._add_labels(target, item, labels, login, item.created_at)
        hooks = []
        if self._sending(deliver):
            hooks.append(self.payloads.issues("opened", target, item, login))
            hooks += [
                self.payloads.issues("labeled", target, item, login, label=self.render.label(target, name))
                for name in added
            ]
        html_url = f"{self.url}/{target.full_name}/issues/{item.number}"
        return await self._send(hooks, number=item.number, html_url=html_url, id=item.id)

    async def close_issue(
        self, repo: str, number: int, by: str, deliver: bool = True, *, reason: str = "completed"
    ) -> dict[str, Any]:
        """Close an issue (``reason`` ``completed`` or ``not_planned``)."""
        if reason not in ("completed", "not_planned"):
            raise ValueError("reason must be completed or not_planned")
        target = self.world.repo(repo)
        item = self.world.item(repo, number)
        if item.is_pull:
            raise ValueError(f"{repo}#{number} is a pull request; use close_pull")
        if item.state != "open":
            raise ValueError(f"{repo}#{number} is not open")
        closer = self._login(by)
        now = self._now()
        item.state, item.closed_at, item.closed_by, item.state_reason = "closed", now, closer, reason
        item.updated_at = now
        self._event(item, "closed", closer, now, state_reason=reason)
        target.touch()
        hooks = [self.payloads.issues("closed", target, item, closer)] if self._sending(deliver) else []
        return await self._send(hooks, number=item.number)

    async def star(self, repo: str, user: str, deliver: bool = True) -> dict[str, Any]:
        """Star a repository (``star`` ``created`` with ``starred_at``); starring twice changes nothing."""
        target = self.world.repo(repo)
        login = self._login(user)
        if login in target.stars:
            return {"delivery": None, "deliveries": [], "starred_at": target.stars[login].isoformat()}
        target.stars[login] = self._now()
        target.touch()
        hooks = [self.payloads.star("created", target, login)] if self._sending(deliver) else []
        return await self._send(hooks, starred_at=target.stars[login].isoformat())

    async def unstar(self, repo: str, user: str, deliver: bool = True) -> dict[str, Any]:
        """Remove a star (``star`` ``deleted``, ``starred_at`` null)."""
        target = self.world.repo(repo)
        login = self._login(user)
        if target.stars.pop(login, None) is None:
            return {"delivery": None, "deliveries": []}
        target.touch()
        hooks = [self.payloads.star("deleted", target, login)] if self._sending(deliver) else []
        return await self._send(hooks)

    async def load_history(self, repo: str, pulls: list[dict[str, Any]]) -> dict[str, Any]:
        """Bulk-load past merged pull requests without webhooks; users are created as needed.

        Each row needs ``author`` and ``merged_at``; ``number``, ``id``, ``merged_by``, ``title``, ``created_at``,
        ``labels`` and ``reviews`` (``[{"by", "state", "submitted_at", "id"?}]``) are optional.
        """
        loaded = load_rows(self.world, self.world.repo(repo), pulls, self._now())
        return {"loaded": loaded, "delivery": None}

    # device flow and gists ------------------------------------------------------------------------------------
    def pending_device_codes(self) -> list[str]:
        """Return the user codes waiting for someone to approve them."""
        return self.device.pending()

    async def device_approve(self, user_code: str, login: str) -> dict[str, Any]:
        """Approve a device code as ``login``; KeyError if the code is unknown."""
        code = self.device.approve(user_code, login)
        return {"user_code": code.user_code, "login": code.login, "delivery": None}

    async def device_deny(self, user_code: str) -> dict[str, Any]:
        """Deny a device code; KeyError if the code is unknown."""
        code = self.device.deny(user_code)
        return {"user_code": code.user_code, "delivery": None}

    async def create_gist(
        self, owner: str, content: str, *, filename: str = "gistfile1.txt", description: str = ""
    ) -> dict[str, Any]:
        """Create a public gist with one file."""
        now = self._now()
        gist = Gist(
            id=secrets.token_hex(16),
            owner=self._login(owner),
            files={filename: content},
            description=description,
            created_at=now,
            updated_at=now,
        )
        self.world.gists[gist.id] = gist
        return {"id": gist.id, "html_url": self.render.gist_html_url(gist), "delivery": None}

    # faults and counts ----------------------------------------------------------------------------------------
    def bot_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The comments the bot wrote (as its token's account, or as an App's ``[bot]``) on an issue or PR."""
        found = self.world.repo(repo)
        self.world.item(found.full_name, number)
        mine = [
            comment
            for comment in self.world.comments.values()
            if comment.repo_id == found.id
            and comment.number == int(number)
            and (comment.user == TOKEN_OWNER or self.world.find_user(comment.user).is_bot)
        ]
        return [render_comment(self.render, found, comment) for comment in sorted(mine, key=lambda c: c.id)]

    def add_fault(
        self,
        method: str,
        route: str,
        status: int | str,
        times: int,
        retry_after: float = 1,
        max_nodes: int | None = None,
    ) -> None:
        """Fail the next ``times`` requests to ``method route`` (a template like ``/repos/{owner}/{repo}/pulls``).

        ``status`` is an HTTP status, ``secondary-rate-limit`` (with retry-after),
        ``secondary-rate-limit-no-retry-after``, ``graphql-rate-limited`` (HTTP 200 with a RATE_LIMITED error;
        the window resets after ``retry_after``) or
        ``graphql-timeout`` (502 for GraphQL queries asking for more than ``max_nodes`` nodes).
        """
        named = SECONDARY_FAULTS | GRAPHQL_FAULTS
        if status not in named and (not isinstance(status, int) or status not in FAULT_STATUSES):
            raise ValueError(f"unsupported fault status {status!r}")
        if status == "graphql-timeout" and max_nodes is None:
            raise ValueError("a graphql-timeout fault needs max_nodes")
        nodes = None if max_nodes is None else int(max_nodes)
        self.gate.faults.append(Fault(method.upper(), route, status, int(times), float(retry_after), nodes))

    def set_rate_limit(self, resource: str, limit: int, period: int | None = None) -> None:
        """Change a bucket (``core`` 5000/h, ``search`` 30/min, ``graphql`` 5000/h) and start a fresh window."""
        bucket = self.gate.buckets[resource]
        bucket.limit = int(limit)
        bucket.period = int(period or bucket.period)
        bucket.used = 0
        bucket.window_start = time.time()

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self.gate.faults.clear()

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Return ``{"GET /route/template": {"requests": n, "not_modified": m}}``."""
        return copy.deepcopy(self.gate.counts)

    def reset_request_counts(self) -> None:
        """Start counting requests from zero."""
        self.gate.counts.clear()
