"""Webhook payloads shaped like GitHub's, and a sender that signs and delivers them in order."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import json
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.sandbox.github.render import JSON, Renderer, iso
from bot.sandbox.github.state import Item, Repo

log = logging.getLogger(__name__)

USER_AGENT = "GitHub-Hookshot/vestry-sandbox"
ZEN = "Design for failure."
HOLD: contextvars.ContextVar[bool] = contextvars.ContextVar("hold_deliveries", default=False)
"""Set (``?deliver=hold``) while a change is made: its webhooks wait for ``release`` instead of going out."""
RELEASE_ORDERS = ("as-held", "reverse", "shuffle")


@dataclass(slots=True)
class Hook:
    """One webhook delivery waiting to be sent: event name, payload and the repository (or App) it concerns."""

    event: str
    payload: JSON
    repo: Repo | None
    app_id: int | None = None


class Payloads:
    """Build webhook bodies with the field set of GitHub's real payloads."""

    def __init__(self, render: Renderer) -> None:
        self.render = render

    def _envelope(self, repo: Repo, sender: str) -> JSON:
        data: JSON = {"repository": self.render.repo(repo)}
        if self.render.world.users[repo.owner].type == "Organization":
            data["organization"] = self.render.org(repo.owner)
        data["sender"] = self.render.user(sender)
        installation = self.render.world.apps.installation_for(repo.id)
        if installation is not None:  # a delivery to a GitHub App names the installation it came through
            data["installation"] = {"id": installation.id, "node_id": f"IN_{installation.id}"}
        return data

    def pull_request(self, action: str, repo: Repo, item: Item, sender: str, **extra: Any) -> Hook:
        """Return a ``pull_request`` delivery (``requested_reviewer``/``requested_team``/``label`` go in extra)."""
        payload: JSON = {"action": action, "number": item.number, "pull_request": self.render.pull(repo, item)}
        payload.update(self._envelope(repo, sender))
        payload.update(extra)
        return Hook("pull_request", payload, repo)

    def review_submitted(self, repo: Repo, item: Item, review_index: int) -> Hook:
        """Return a ``pull_request_review`` ``submitted`` delivery."""
        review = item.reviews[review_index]
        payload: JSON = {
            "action": "submitted",
            "review": self.render.review(repo, item, review, webhook=True),
            "pull_request": self.render.pull(repo, item, full=False),
        }
        payload.update(self._envelope(repo, review.user))
        return Hook("pull_request_review", payload, repo)

    def issues(self, action: str, repo: Repo, item: Item, sender: str, **extra: Any) -> Hook:
        """Return an ``issues`` delivery."""
        payload: JSON = {"action": action, "issue": self.render.issue(repo, item)}
        payload.update(self._envelope(repo, sender))
        payload.update(extra)
        return Hook("issues", payload, repo)

    def star(self, action: str, repo: Repo, user: str) -> Hook:
        """Return a ``star`` delivery; ``starred_at`` is null when the star is removed."""
        payload: JSON = {"action": action, "starred_at": iso(repo.stars.get(user)) if action == "created" else None}
        payload.update(self._envelope(repo, user))
        return Hook("star", payload, repo)

    def member(self, repo: Repo, login: str, sender: str) -> Hook:
        """Return a ``member`` ``added`` delivery."""
        payload: JSON = {
            "action": "added",
            "member": self.render.user(login),
            "changes": {"permission": {"to": "write"}},
        }
        payload.update(self._envelope(repo, sender))
        return Hook("member", payload, repo)

    def repository(self, action: str, repo: Repo, sender: str, changes: JSON) -> Hook:
        """Return a ``repository`` delivery (``renamed`` or ``transferred``), carrying the new name."""
        payload: JSON = {"action": action, "changes": changes}
        payload.update(self._envelope(repo, sender))
        return Hook("repository", payload, repo)

    def ping(self, repo: Repo, url: str | None, secret: str | None) -> Hook:
        """Return the ``ping`` that GitHub sends when a repository webhook is created."""
        hook_api = f"{self.render.base}/repos/{repo.full_name}/hooks/{repo.hook_id}"
        created = iso(repo.created_at)
        payload: JSON = {
            "zen": ZEN,
            "hook_id": repo.hook_id,
            "hook": {
                "type": "Repository",
                "id": repo.hook_id,
                "name": "web",
                "active": True,
                "events": ["*"],
                "config": {
                    "content_type": "json",
                    "url": url,
                    "insecure_ssl": "0",
                    **({"secret": "********"} if secret else {}),
                },
                "updated_at": created,
                "created_at": created,
                "url": hook_api,
                "test_url": f"{hook_api}/test",
                "ping_url": f"{hook_api}/pings",
                "deliveries_url": f"{hook_api}/deliveries",
                "last_response": {"code": None, "status": "unused", "message": None},
            },
        }
        payload.update(self._envelope(repo, repo.owner))
        return Hook("ping", payload, repo)


def sign(secret: str, body: bytes) -> str:
    """Return the ``X-Hub-Signature-256`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """POST deliveries to one URL, one at a time and in order; failures are recorded, never raised."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.url: str | None = None
        self.secret: str | None = None
        self.timeout = timeout
        self.deliveries: list[dict[str, Any]] = []
        self.held: list[tuple[Hook, str, bytes]] = []
        self._sent: dict[str, tuple[Hook, bytes]] = {}
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    def configure(self, url: str | None, secret: str | None) -> None:
        """Send future deliveries to ``url`` signed with ``secret``; ``None`` turns delivery off."""
        self.url = url
        self.secret = secret

    @property
    def active(self) -> bool:
        """Tell whether deliveries go anywhere."""
        return self.url is not None

    async def send(self, hooks: list[Hook]) -> list[str]:
        """Deliver ``hooks`` in order and return their delivery ids (empty when delivery is off)."""
        url, secret = self.url, self.secret
        if url is None or not hooks:
            return []
        prepared = [(hook, str(uuid.uuid4()), json.dumps(hook.payload).encode()) for hook in hooks]
        if HOLD.get():
            self.held += prepared
            return [delivery for _, delivery, _ in prepared]
        async with self._lock:
            for hook, delivery, body in prepared:
                await self._post(url, secret, hook, delivery, body)
        return [delivery for _, delivery, _ in prepared]

    async def release(self, order: str = "as-held", seed: int | None = None) -> list[str]:
        """Deliver every held webhook ``as-held``, in ``reverse`` or ``shuffle``d (with ``seed``); return their ids."""
        if order not in RELEASE_ORDERS:
            raise ValueError(f"order must be one of {', '.join(RELEASE_ORDERS)}")
        batch, self.held = list(self.held), []
        if order == "reverse":
            batch.reverse()
        elif order == "shuffle":
            random.Random(seed).shuffle(batch)
        if self.url is not None:
            async with self._lock:
                for hook, delivery, body in batch:
                    await self._post(self.url, self.secret, hook, delivery, body)
        return [delivery for _, delivery, _ in batch]

    async def redeliver(self, delivery: str) -> dict[str, Any]:
        """Send a delivery again with the same id and body, as GitHub's "Redeliver" button; KeyError if unknown."""
        hook, body = self._sent[delivery]
        if self.url is None:
            raise ValueError("webhook delivery is off")
        async with self._lock:
            await self._post(self.url, self.secret, hook, delivery, body, redelivery=True)
        return self.deliveries[-1]

    async def _post(
        self, url: str, secret: str | None, hook: Hook, delivery: str, body: bytes, *, redelivery: bool = False
    ) -> None:
        headers = {
            "Content-Type": "application/json",
            "Accept": "*/*",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": hook.event,
            "X-GitHub-Delivery": delivery,
        }
        if hook.repo is not None:
            headers["X-GitHub-Hook-ID"] = str(hook.repo.hook_id)
            headers["X-GitHub-Hook-Installation-Target-Type"] = "repository"
            headers["X-GitHub-Hook-Installation-Target-ID"] = str(hook.repo.id)
        else:
            headers["X-GitHub-Hook-ID"] = str(hook.app_id)
            headers["X-GitHub-Hook-Installation-Target-Type"] = "integration"
            headers["X-GitHub-Hook-Installation-Target-ID"] = str(hook.app_id)
        if secret is not None:
            headers["X-Hub-Signature"] = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature-256"] = sign(secret, body)
        record: dict[str, Any] = {
            "id": delivery,
            "event": hook.event,
            "action": hook.payload.get("action"),
            "repository": hook.repo.full_name if hook.repo is not None else None,
            "status": None,
            "error": None,
            "redelivery": redelivery,
            "payload": hook.payload,
        }
        self.deliveries.append(record)
        self._sent[delivery] = (hook, body)
        try:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession()
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as response:
                await response.read()
                record["status"] = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("webhook delivery %s (%s) failed: %s", delivery, hook.event, record["error"])

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
