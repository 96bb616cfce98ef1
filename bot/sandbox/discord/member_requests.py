"""Gateway commands as Discord limits them, and op 8 REQUEST_GUILD_MEMBERS answered with GUILD_MEMBERS_CHUNK.

Discord allows 120 gateway commands per connection in any 60 s and closes the connection with 4008 ("Rate
limited.") past that. A member request names up to 100 ``user_ids`` (no privileged intent needed) or asks by
``query`` with a ``limit``; the whole list (``query=""``, ``limit`` 0) needs the members intent — without it
Discord simply never answers — and, since 2025-08, one such request per guild per session in 30 s (a second
gets a ``RATE_LIMITED`` dispatch instead). Answers come in chunks of at most 1,000 members, numbered
``chunk_index`` of ``chunk_count``, with the ``nonce`` (≤ 32 bytes, else dropped) and the ids it could not find.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol

from bot.sandbox.discord.payloads import member_json
from bot.sandbox.discord.world import World
from bot.sandbox.rejections import Rejections


class Session(Protocol):
    """What member requests need of a gateway session (``bot.sandbox.discord.gateway.Session``)."""

    intents: int

    def dispatch(self, event: str, data: Any, *, record: bool = True) -> None:
        """Send an event on the session."""


Connection = object  # a gateway connection, only ever a key: commands are counted per connection

COMMANDS_PER_WINDOW = 120
COMMAND_WINDOW = 60.0
ALL_MEMBERS_WINDOW = 30.0
MAX_USER_IDS = 100
CHUNK_SIZE = 1000
NONCE_BYTES = 32
RATE_LIMITED_CLOSE = 4008
GUILD_MEMBERS = 1 << 1


class CommandLimit:
    """Count every command a client sends on one connection; say when it went past 120 in 60 s."""

    def __init__(self, limit: int = COMMANDS_PER_WINDOW, window: float = COMMAND_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self.now: Callable[[], float] = time.monotonic
        self.counts: Counter[int] = Counter()  # per op, over every connection since start
        self.closed_for_rate = 0
        self.rejections: Rejections | None = None  # the emulator's record of refusals, when hooked up
        self._sent: weakref.WeakKeyDictionary[Connection, deque[float]] = weakref.WeakKeyDictionary()

    def allow(self, conn: Connection, op: Any) -> bool:
        """Count one command; False when it is one too many (the caller closes with 4008)."""
        if isinstance(op, int):
            self.counts[op] += 1
        now = self.now()
        sent = self._sent.setdefault(conn, deque())
        while sent and now - sent[0] >= self.window:
            sent.popleft()
        sent.append(now)
        if len(sent) > self.limit:
            self.closed_for_rate += 1
            if self.rejections is not None:
                message = f"more than {self.limit} gateway commands in {self.window:g} s: closed with 4008"
                self.rejections.record("GATEWAY", f"op {op}", RATE_LIMITED_CLOSE, RATE_LIMITED_CLOSE, message)
            return False
        return True


class MemberRequests:
    """Answer op 8 like Discord; keep what was refused so tests can ask."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.all_members_window = ALL_MEMBERS_WINDOW
        self.now: Callable[[], float] = time.monotonic
        self.refusals: list[dict[str, Any]] = []
        self.rejections: Rejections | None = None  # the emulator's record of refusals, when hooked up
        self.user_ids_requested = 0
        self._last_listing: weakref.WeakKeyDictionary[Session, float] = weakref.WeakKeyDictionary()

    def answer(self, session: Session, d: dict[str, Any]) -> None:
        """Send the GUILD_MEMBERS_CHUNK dispatches (or RATE_LIMITED, or nothing) for one request."""
        if str(d.get("guild_id")) != str(self.world.guild_id):
            self._refuse("guild_id is not a guild of this session")
            return
        nonce = d.get("nonce")
        if not isinstance(nonce, str) or len(nonce.encode()) > NONCE_BYTES:
            nonce = None
        if d.get("user_ids") is not None:
            self._by_ids(session, d["user_ids"], nonce)
        elif isinstance(d.get("query"), str):
            self._by_query(session, d["query"], d.get("limit"), nonce)
        else:
            self._refuse("neither query nor user_ids given")

    def _by_ids(self, session: Session, raw: Any, nonce: str | None) -> None:
        ids = raw if isinstance(raw, list) else [raw]
        try:
            wanted = [int(i) for i in ids]
        except (TypeError, ValueError):
            self._refuse("user_ids holds something that is not a snowflake")
            return
        if not wanted or len(wanted) > MAX_USER_IDS:
            self._refuse(f"user_ids holds {len(wanted)} ids (1 to {MAX_USER_IDS} allowed)")
            return
        self.user_ids_requested += len(wanted)
        members = self.world.members
        found = [members[i] for i in dict.fromkeys(wanted) if i in members]
        missing = [str(i) for i in dict.fromkeys(wanted) if i not in members]
        self._send(session, found, nonce, missing)

    def _by_query(self, session: Session, query: str, raw_limit: Any, nonce: str | None) -> None:
        limit = raw_limit if isinstance(raw_limit, int) and raw_limit >= 0 else 0
        if query == "":
            if not session.intents & GUILD_MEMBERS:
                self._refuse("the whole member list needs the GUILD_MEMBERS intent (Discord does not answer)")
                return
            now = self.now()
            last = self._last_listing.get(session) if limit == 0 else None
            if last is not None and now - last < self.all_members_window:
                retry = round(self.all_members_window - (now - last), 3)
                self._refuse("the whole member list was asked for again within 30 s", rate_limited=True)
                meta: dict[str, Any] = {"guild_id": str(self.world.guild_id)}
                if nonce is not None:
                    meta["nonce"] = nonce
                session.dispatch("RATE_LIMITED", {"opcode": 8, "retry_after": retry, "meta": meta}, record=False)
                return
            if limit == 0:
                self._last_listing[session] = now
        folded = query.casefold()
        found = [
            m
            for m in self.world.members.values()
            if m.user.name.casefold().startswith(folded) or (m.nick or "").casefold().startswith(folded)
        ]
        if query != "" or limit:
            found = found[: min(limit or 100, 100)] if query != "" else found[:limit]
        self._send(session, found, nonce, [])

    def _send(self, session: Session, found: list[Any], nonce: str | None, missing: list[str]) -> None:
        world = self.world
        chunks = [found[i : i + CHUNK_SIZE] for i in range(0, len(found), CHUNK_SIZE)] or [[]]
        for index, chunk in enumerate(chunks):
            data: dict[str, Any] = {
                "guild_id": str(world.guild_id),
                "members": [member_json(world, m) for m in chunk],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if index == 0 and missing:
                data["not_found"] = missing
            if nonce is not None:
                data["nonce"] = nonce
            session.dispatch("GUILD_MEMBERS_CHUNK", data, record=False)  # answers are not worth a replay buffer

    def _refuse(self, message: str, *, rate_limited: bool = False) -> None:
        self.refusals.append({"op": 8, "message": message, "rate_limited": rate_limited, "at": time.time()})
        if self.rejections is not None:
            route = "op 8 REQUEST_GUILD_MEMBERS"
            self.rejections.record("GATEWAY", route, 429 if rate_limited else 400, None, message, gateway=True)
