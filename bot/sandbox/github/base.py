"""State and helpers shared by the GitHub emulator's mutators."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.sandbox.github.device import DeviceFlow
from bot.sandbox.github.graphql_api import GraphQLApi
from bot.sandbox.github.render import Renderer
from bot.sandbox.github.server import Gate
from bot.sandbox.github.state import Event, Item, Repo, World
from bot.sandbox.github.webhooks import Hook, Payloads, WebhookSender

TOKEN_OWNER = "vestry-bot"
REVIEW_STATES = {
    "APPROVED": "APPROVED",
    "APPROVE": "APPROVED",
    "CHANGES_REQUESTED": "CHANGES_REQUESTED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENTED": "COMMENTED",
    "COMMENT": "COMMENTED",
}


def as_utc(value: datetime | str | None) -> datetime | None:
    """Turn an ISO string or datetime into an aware UTC datetime with whole seconds."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


class EmulatorBase:
    """The emulator's parts (world, renderer, webhook sender, device flow, gate) and shared helpers."""

    def __init__(
        self,
        *,
        clock: Clock,
        token: str = "sandbox-github-token",
        device_interval: int = 5,
        rate_limits: str = "real",
    ) -> None:
        self.clock = clock
        self.token = token
        self.url = ""
        self.world = World()
        self.render = Renderer(self.world)
        self.payloads = Payloads(self.render)
        self.hooks = WebhookSender()
        self.device = DeviceFlow(self.world, clock, device_interval)
        self.gate = Gate(self._token_login, self.user_id, rate_limits, app_login=self._jwt_login)
        self.graphql = GraphQLApi(self.world, self.render)
        self._runner: web.AppRunner | None = None
        self.world.ensure_user(TOKEN_OWNER, "User", self._now())
        self.world.tokens[token] = TOKEN_OWNER

    def _token_login(self, token: str) -> str | None:
        """Return who a token acts as: a user's token, or a live installation token's App bot."""
        login = self.world.tokens.get(token)
        if login is not None:
            return login
        installation = self.world.apps.token_installation(token, time.time())
        return self.world.apps.apps[installation.app_id].bot_login if installation is not None else None

    def _jwt_login(self, token: str) -> str:
        """Return the App bot a JWT authenticates (raising ``AppRefused`` as GitHub refuses it)."""
        return self.world.apps.verify_jwt(token, time.time()).bot_login

    def user_id(self, login: str) -> int:
        """Return the numeric id of ``login``; KeyError if unknown."""
        return self.world.find_user(login).id

    # webhooks -------------------------------------------------------------------------------------------------
    def set_webhook(self, url: str | None, secret: str | None) -> None:
        """Deliver future changes to ``url`` signed with ``secret``; ``None`` turns delivery off."""
        self.hooks.configure(url, secret)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Return what was sent: ``{"id", "event", "action", "repository", "status", "error", "payload"}``."""
        return self.hooks.deliveries

    def _sending(self, deliver: bool) -> bool:
        return deliver and self.hooks.active

    async def _send(self, hooks: list[Hook], **extra: Any) -> dict[str, Any]:
        apps = self.world.apps
        if apps.app_mode:  # the App's webhook hears only from repositories it is installed on
            hooks = [hook for hook in hooks if hook.repo is None or apps.installation_for(hook.repo.id) is not None]
        ids = await self.hooks.send(hooks)
        return {**extra, "delivery": ids[0] if ids else None, "deliveries": ids}

    # helpers --------------------------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC).replace(microsecond=0)

    def _login(self, login: str) -> str:
        return self.world.ensure_user(login, "User", self._now()).login

    def _event(self, item: Item, kind: str, actor: str | None, when: datetime, **fields: Any) -> None:
        item.events.append(Event(id=self.world.next_id("event"), event=kind, actor=actor, created_at=when, **fields))

    def _open_pull(self, repo: str, number: int) -> tuple[Repo, Item]:
        item = self.world.pull(repo, number)
        if item.state != "open":
            raise ValueError(f"{repo}#{number} is not open")
        return self.world.repo(repo), item

    def _add_labels(self, repo: Repo, item: Item, labels: Iterable[str], actor: str, now: datetime) -> list[str]:
        added = []
        for name in labels:
            if name not in item.labels:
                self.world.label_id(repo, name)
                item.labels.append(name)
                self._event(item, "labeled", actor, now, label=name)
                added.append(name)
        return added

    def _new_item(self, repo: Repo, author: str, title: str, body: str | None, is_pull: bool) -> Item:
        now = self._now()
        item = Item(
            number=repo.next_number,
            id=self.world.next_id("issue"),
            is_pull=is_pull,
            author=author,
            title=title,
            body=body,
            created_at=now,
            updated_at=now,
            pr_id=self.world.next_id("pull") if is_pull else 0,
        )
        repo.next_number += 1
        repo.items[item.number] = item
        repo.updated_at = now
        repo.touch()
        return item
