"""Read members over the gateway (op 8 REQUEST_GUILD_MEMBERS by id), paced inside Discord's command limit.

Discord allows 120 gateway commands per connection in any 60 s and closes the connection (4008) past that.
Asking for members by id needs no privileged intent and returns up to 100 members a request, so 50,000 linked
members cost 500 commands and no REST request at all. Vestry keeps its own requests to ``MEMBER_REQUESTS`` per
60 s, which leaves room for heartbeats and anything discord.py sends (its own limiter allows 110).

With the members intent, Discord could also stream the whole member list in one request, but discord.py collects
such a stream into one list (50,000 ``Member`` objects at once) and allows it once per 30 s; by id, the bot never
holds more than one batch of 100.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.discord.setup_checks import tier_role_problems
from bot.services.ladder import MemberState

if TYPE_CHECKING:
    import discord

MEMBER_REQUESTS = 100
WINDOW = 60.0
IDS_PER_REQUEST = 100


class GatewayPacer:
    """Let at most ``limit`` commands through in any ``per`` seconds; callers wait their turn."""

    def __init__(
        self,
        limit: int = MEMBER_REQUESTS,
        per: float = WINDOW,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.per = per
        self._now = now
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.waited = 0.0

    async def wait(self) -> None:
        """Return once one more command fits in the window (and count it)."""
        async with self._lock:
            while True:
                now = self._now()
                while self._sent and now - self._sent[0] >= self.per:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                delay = self.per - (now - self._sent[0])
                self.waited += delay
                await self._sleep(delay)


class GatewayMembers:
    """The reconcile's view of the server: members by id over the gateway, role problems from the cache."""

    batch_size = IDS_PER_REQUEST

    def __init__(self, client: discord.Client, guild_id: int, pacer: GatewayPacer) -> None:
        self._client = client
        self._guild_id = guild_id
        self.pacer = pacer
        self.requests = 0

    def _guild(self) -> discord.Guild:
        guild = self._client.get_guild(self._guild_id)
        if guild is None:
            raise RuntimeError("the bot cannot see the server yet")
        return guild

    async def states_of(self, discord_ids: Sequence[int]) -> dict[int, MemberState]:
        """Return the roles and join time of those of ``discord_ids`` in the server (one op 8, ≤ 100 ids)."""
        if len(discord_ids) > IDS_PER_REQUEST:
            raise ValueError(f"at most {IDS_PER_REQUEST} members a request, not {len(discord_ids)}")
        if not discord_ids:
            return {}
        guild = self._guild()
        await self.pacer.wait()
        self.requests += 1
        # If the connection drops meanwhile, discord.py answers with what had arrived: the rest look absent this
        # run, which changes nothing (absent members are left alone), and the next run reads them again.
        found = await guild.query_members(user_ids=list(discord_ids), limit=len(discord_ids), cache=False)
        return {m.id: MemberState(frozenset(role.id for role in m.roles), m.joined_at) for m in found}

    def role_problem(self, role_id: int) -> str | None:
        """Say in plain words why the bot cannot manage a role, or None when it can."""
        guild = self._client.get_guild(self._guild_id)
        me = guild.me if guild is not None else None
        if guild is None or me is None:
            return "the bot cannot see the server yet"
        role = guild.get_role(role_id)
        if role is not None and not me.guild_permissions.manage_roles:
            return f"the bot lacks Manage Roles, so it cannot grant @{role.name}"
        problems = tier_role_problems(guild, me, [role_id])
        return problems[0] if problems else None
