"""A small client of the sandbox's control API, for tests, the demo and scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp


class ControlError(Exception):
    """The control API answered with an error."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status}: {body}")


class ControlClient:
    """Drive a running sandbox over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """Call a route; raise ControlError on a non-2xx answer."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        query = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in params.items()}
        async with self._session.request(method, self.base_url + path, json=body, params=query) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise ControlError(response.status, data)
            return data

    async def get(self, path: str, **params: Any) -> Any:
        """GET a route."""
        return await self.request("GET", path, **params)

    async def post(self, path: str, body: Any = None, **params: Any) -> Any:
        """POST a route."""
        return await self.request("POST", path, body if body is not None else {}, **params)

    async def delete(self, path: str, body: Any = None) -> Any:
        """DELETE a route."""
        return await self.request("DELETE", path, body)

    # Conveniences for the routes used most.
    async def state(self) -> dict[str, Any]:
        """Return the Discord guild's state."""
        return await self.get("/discord/state")  # type: ignore[no-any-return]

    async def add_member(self, name: str) -> str:
        """Add a member to the guild; return their id."""
        return str((await self.post("/discord/members", {"name": name}))["id"])

    async def command(self, member: str, command: str, /, **options: Any) -> dict[str, Any]:
        """Run a slash command as a member and return the bot's responses."""
        return await self.post(
            "/discord/commands",  # type: ignore[no-any-return]
            {"member": member, "command": command, "options": options},
        )

    async def click(self, member: str, message: str, custom_id: str) -> dict[str, Any]:
        """Click a button on a message."""
        return await self.post(
            "/discord/components",  # type: ignore[no-any-return]
            {"member": member, "message": message, "custom_id": custom_id},
        )

    async def messages(self, channel: str) -> list[dict[str, Any]]:
        """Return a channel's messages (or ``dm:<member>``), oldest first."""
        return await self.get("/discord/messages", channel=channel)  # type: ignore[no-any-return]

    async def user(self, login: str, type: str = "User") -> int:
        """Create a GitHub user."""
        return int((await self.post("/github/users", {"login": login, "type": type}))["id"])

    async def pull(
        self, author: str, title: str = "A change", repo: str = "sandbox/project", deliver: bool = True, **extra: Any
    ) -> int:
        """Open a pull request; return its number."""
        body = {"repo": repo, "author": author, "title": title, **extra}
        return int((await self.post("/github/pulls", body, deliver=deliver))["number"])

    async def merge(
        self,
        number: int,
        by: str = "maintainer",
        repo: str = "sandbox/project",
        deliver: bool = True,
        merged_at: str | None = None,
    ) -> Any:
        """Merge a pull request."""
        body: dict[str, Any] = {"by": by}
        if merged_at:
            body["merged_at"] = merged_at
        return await self.post(f"/github/pulls/{repo}/{number}/merge", body, deliver=deliver)

    async def settle(self) -> Any:
        """Wait until the bot has processed everything."""
        return await self.post("/settle")

    async def run_job(self, name: str) -> Any:
        """Run a scheduled job now."""
        return await self.post(f"/jobs/{name}/run")

    async def clock(self, now: str | None = None, advance: float | None = None) -> str:
        """Set or advance the sandbox clock; return the new time."""
        body: dict[str, Any] = {"now": now} if now else {"advance": advance or 0}
        return str((await self.post("/clock", body))["now"])


class RefusedRequests(AssertionError):
    """The bot sent requests that the strict emulators refused, in a run that did not expect any."""


@asynccontextmanager
async def running_sandbox(*, expect_rejections: bool = False, **kwargs: Any) -> AsyncIterator[ControlClient]:
    """Run a sandbox in this process; yield a ControlClient whose ``.sandbox`` is the Sandbox object.

    Unless ``expect_rejections`` is set (a test that provokes refusals on purpose), leaving the block checks
    ``GET /discord/rejections`` and ``GET /github/rejections`` and raises ``RefusedRequests`` when either lists
    anything: real Discord and GitHub would have refused those requests.
    """
    from bot.sandbox.runner import Sandbox

    box = Sandbox(**kwargs)
    try:
        await box.start()
        client = ControlClient(box.control_url)
        client.sandbox = box  # type: ignore[attr-defined]
        try:
            yield client
            if not expect_rejections:
                await assert_no_rejections(client)
        finally:
            await client.close()
    finally:
        await box.stop()


async def assert_no_rejections(client: ControlClient) -> None:
    """Raise ``RefusedRequests`` when either emulator refused a request since the sandbox started."""
    refused = {
        "discord": await client.get("/discord/rejections"),
        "github": await client.get("/github/rejections"),
    }
    if refused["discord"] or refused["github"]:
        lines = [
            f"{side}: {item['method']} {item['route']} -> {item['status']} {item.get('code')} {item['message']}"
            for side, items in refused.items()
            for item in items[:20]
        ]
        raise RefusedRequests("the emulators refused requests the bot sent:\n" + "\n".join(lines))
