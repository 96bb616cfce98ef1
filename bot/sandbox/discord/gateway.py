"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, member chunks, dispatches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.discord.member_requests import RATE_LIMITED_CLOSE, CommandLimit, MemberRequests
from bot.sandbox.discord.payloads import gateway_message_json, guild_create_json, member_json, user_json
from bot.sandbox.discord.world import DM_CHANNEL, Message, World

log = logging.getLogger(__name__)

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
#: Every intent bit Discord defines for API v10 (bits 22 and 23 are unused); anything else closes with 4013.
DEFINED_INTENTS = 0b11001100011111111111111111
HEARTBEAT_INTERVAL_MS = 41_250
#: The emulated round trip of a heartbeat ACK: an instant ACK races discord.py's own bookkeeping and reads as
#: a latency of a whole heartbeat interval.
ACK_DELAY = 0.02
#: Fatal closes: the client must stop and say why (4004 token, 4010-4014 shard or intents).
FATAL_CLOSE_CODES = {
    4004: "Authentication failed.",
    4010: "Invalid shard.",
    4011: "Sharding required.",
    4012: "Invalid API version.",
    4013: "Invalid intent(s).",
    4014: "Disallowed intent(s).",
}
_HISTORY = 5000


@dataclass(eq=False)
class Connection:
    """One websocket connection and the queue its writer drains, in order."""

    ws: web.WebSocketResponse
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    session: Session | None = None
    last_beat: float = 0.0

    def send(self, op: int, d: Any = None, t: str | None = None, s: int | None = None) -> None:
        """Queue one frame."""
        self.queue.put_nowait(json.dumps({"op": op, "d": d, "s": s, "t": t}, separators=(",", ":")))


@dataclass(eq=False)
class Session:
    """A gateway session: survives disconnects so the client can RESUME and get what it missed."""

    id: str
    intents: int
    large_threshold: int
    seq: int = 0
    history: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    connection: Connection | None = None

    def dispatch(self, event: str, data: Any, *, record: bool = True) -> None:
        """Number an event and send it (or keep it for the replay after a RESUME)."""
        self.seq += 1
        frame = json.dumps({"op": 0, "d": data, "s": self.seq, "t": event}, separators=(",", ":"))
        if record:
            self.history.append((self.seq, frame))
        if self.connection is not None:
            self.connection.queue.put_nowait(frame)


class Gateway:
    """Serve ``/gateway`` and deliver dispatches to every identified session."""

    def __init__(self, world: World, token: str) -> None:
        self.world = world
        self.token = token
        self.url = ""
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.identified = asyncio.Event()
        self.heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS
        self._acks: set[asyncio.Task[None]] = set()
        self.closes: list[int] = []
        self.commands = CommandLimit()
        self.member_requests = MemberRequests(world)

    # -- dispatching -----------------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any], intent: int = 0) -> None:
        """Send an event to every session whose intents include ``intent`` (0: always)."""
        for session in list(self.sessions.values()):
            if intent == 0 or session.intents & intent:
                session.dispatch(event, data)

    def member_event(self, event: str, data: dict[str, Any], user_id: int) -> None:
        """Dispatch a GUILD_MEMBER_* event; updates about the bot itself need no privileged intent."""
        is_self = event == "GUILD_MEMBER_UPDATE" and user_id == self.world.bot_user_id
        self.dispatch(event, data, 0 if is_self else GUILD_MEMBERS)

    def message_event(self, event: str, message: Message) -> None:
        """Dispatch MESSAGE_CREATE/UPDATE/DELETE for a message others can see (never for ephemeral ones)."""
        if message.ephemeral:
            return
        channel = self.world.channels[message.channel_id]
        intent = DIRECT_MESSAGES if channel.type == DM_CHANNEL else GUILD_MESSAGES
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if channel.type != DM_CHANNEL:
                data["guild_id"] = str(self.world.guild_id)
        else:
            data = gateway_message_json(self.world, message)
        private = message.author_id != self.world.bot_user_id and channel.type != DM_CHANNEL
        if event == "MESSAGE_DELETE" or not private or self.world.bot_user_id in message.mentions:
            self.dispatch(event, data, intent)
            return
        # Without MESSAGE_CONTENT a bot sees members' messages with empty content, embeds and components.
        hidden = {**data, "content": "", "embeds": [], "components": [], "attachments": []}
        for session in list(self.sessions.values()):
            if session.intents & intent:
                session.dispatch(event, data if session.intents & MESSAGE_CONTENT else hidden)

    def member_updated(self, user_id: int) -> None:
        """Dispatch GUILD_MEMBER_UPDATE with the member's full current state."""
        member = self.world.members[user_id]
        data = member_json(self.world, member)
        data["guild_id"] = str(self.world.guild_id)
        self.member_event("GUILD_MEMBER_UPDATE", data, user_id)

    # -- connection handling ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Run one websocket connection until it closes."""
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, last_beat=asyncio.get_running_loop().time())
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn))
        watchdog = asyncio.create_task(self._watchdog(conn))
        conn.send(10, {"heartbeat_interval": self.heartbeat_interval_ms})
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                if not self.commands.allow(conn, payload.get("op") if isinstance(payload, dict) else None):
                    await ws.close(code=RATE_LIMITED_CLOSE, message=b"Rate limited.")
                    break
                await self._on_payload(conn, payload)
        finally:
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            self.connections.discard(conn)
            conn.queue.put_nowait(None)
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        return ws

    async def _watchdog(self, conn: Connection) -> None:
        """Close a connection that stops heartbeating, as Discord does after about one interval (4009)."""
        loop = asyncio.get_running_loop()
        allowed = self.heartbeat_interval_ms / 1000 * 1.5
        while not conn.ws.closed:
            await asyncio.sleep(max(allowed - (loop.time() - conn.last_beat), 0.01))
            if loop.time() - conn.last_beat > allowed and not conn.ws.closed:
                log.warning("gateway: no heartbeat for %.1f s; closing the connection", loop.time() - conn.last_beat)
                self.closes.append(4009)
                await conn.ws.close(code=4009, message=b"Session timed out.")
                return

    async def _ack(self, conn: Connection) -> None:
        await asyncio.sleep(ACK_DELAY)
        conn.send(11)

    async def _writer(self, conn: Connection) -> None:
        while (frame := await conn.queue.get()) is not None:
            if conn.ws.closed:
                return
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    async def _on_payload(self, conn: Connection, payload: dict[str, Any]) -> None:
        op, d = payload.get("op"), payload.get("d")
        if op == 1:
            conn.last_beat = asyncio.get_running_loop().time()
            task = asyncio.create_task(self._ack(conn))
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif op == 8:
            ids = (d or {}).get("user_ids")
            if isinstance(ids, list) and len(ids) > 100:  # Discord takes at most 100 ids a request
                await self.close_connection(conn, 4002)
                return
            if conn.session is not None:
                self.member_requests.answer(conn.session, d if isinstance(d, dict) else {})
        elif op in (3, 4):
            return
        else:
            log.warning("gateway: unknown op %s", op)
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        return isinstance(token, str) and token.removeprefix("Bot ") == self.token

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if not self._token_ok(d.get("token")):
            await self.close_connection(conn, 4004)
            return
        intents = int(d.get("intents") or 0)
        if intents & ~DEFINED_INTENTS:
            await self.close_connection(conn, 4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self.world.privileged_intents:
            await self.close_connection(conn, 4014)
            return
        # A fresh IDENTIFY means the client gave up on older sessions; forget the ones nobody holds.
        for old_id in [k for k, s in self.sessions.items() if s.connection is None]:
            del self.sessions[old_id]
        session = Session(secrets.token_hex(16), int(d.get("intents") or 0), int(d.get("large_threshold") or 50))
        session.connection = conn
        conn.session = session
        world = self.world
        ready = {
            "v": 10,
            "user": {**user_json(world.users[world.bot_user_id]), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(world.guild_id), "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "shard": [0, 1],
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ['["vestry-sandbox"]'],
        }
        session.dispatch("READY", ready)
        session.dispatch("GUILD_CREATE", self._guild_create(session))
        self.sessions[session.id] = session
        self.identified.set()
        log.info("gateway: session %s identified (intents %s)", session.id, session.intents)

    def _guild_create(self, session: Session) -> dict[str, Any]:
        world = self.world
        large = len(world.members) > session.large_threshold
        # Without the members intent (or for a large guild) Discord sends only the bot itself.
        members = list(world.members.values()) if session.intents & GUILD_MEMBERS and not large else [world.bot_member]
        return guild_create_json(world, members, large=large)

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or not self._token_ok(d.get("token")):
            conn.send(9, False)
            return
        if session.connection is not None and session.connection is not conn:
            with contextlib.suppress(Exception):
                await session.connection.ws.close(code=4000)
        seq = int(d.get("seq") or 0)
        for number, frame in session.history:
            if number > seq:
                conn.queue.put_nowait(frame)
        session.connection = conn
        conn.session = session
        session.dispatch("RESUMED", {"_trace": ['["vestry-sandbox"]']}, record=False)
        log.info("gateway: session %s resumed from seq %s", session.id, seq)

    # -- control ---------------------------------------------------------------------------------------

    async def disconnect(self) -> None:
        """Drop every connection as a network failure would; sessions stay resumable."""
        for conn in list(self.connections):
            if conn.session is not None:
                conn.session.connection = None
            await conn.ws.close(code=4000, message=b"Unknown error.")

    async def close_connection(self, conn: Connection, code: int) -> None:
        """Close one connection with a Discord close code (a fatal one also ends its session)."""
        self.closes.append(code)
        if code in FATAL_CLOSE_CODES and conn.session is not None:
            self.sessions.pop(conn.session.id, None)
            conn.session.connection = None
        elif conn.session is not None:
            conn.session.connection = None
        reason = FATAL_CLOSE_CODES.get(code, "Closed by the sandbox.")
        await conn.ws.close(code=code, message=reason.encode())

    async def close_all(self, code: int) -> int:
        """Close every bot connection with ``code``, as Discord would (``POST /discord/gateway/close``)."""
        connections = list(self.connections)
        for conn in connections:
            await self.close_connection(conn, code)
        return len(connections)

    def send_op(self, op: int, d: Any = None) -> None:
        """Send op 7 RECONNECT or op 9 INVALID_SESSION to every connection, as Discord may at any time."""
        for conn in list(self.connections):
            conn.send(op, d)

    async def close(self) -> None:
        """Close every connection for good."""
        for conn in list(self.connections):
            await conn.ws.close(code=1001, message=b"Emulator stopping.")
        self.sessions.clear()
