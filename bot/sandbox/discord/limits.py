"""Discord's rate limits as the emulator enforces them: per-route buckets, the global limit, shared scope, bans.

Windows are wall-clock seconds (``real``), or 100 times shorter (``fast``) for quick tests; the counts, the
headers, the 429 bodies and the retry paths are the same in both modes.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MODES = {"real": 1.0, "fast": 0.01}


@dataclass(frozen=True)
class Rule:
    """``limit`` requests per ``window`` seconds in one bucket (per major parameter)."""

    bucket: str
    limit: int
    window: float


#: Buckets of the routes the bot uses, with the values Discord answers in its headers for a small bot.
ROUTE_RULES: dict[str, Rule] = {
    "POST /channels/{channel_id}/messages": Rule("messages.create", 5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": Rule("messages.edit", 5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": Rule("messages.delete", 5, 1.0),
    "GET /channels/{channel_id}/messages": Rule("messages.list", 5, 5.0),
    "GET /channels/{channel_id}/messages/{message_id}": Rule("messages.get", 5, 5.0),
    "POST /channels/{channel_id}/typing": Rule("typing", 5, 5.0),
    "GET /guilds/{guild_id}/members": Rule("members.list", 10, 10.0),
    "GET /guilds/{guild_id}/members/{user_id}": Rule("members.get", 5, 1.0),
    "PATCH /guilds/{guild_id}/members/{user_id}": Rule("members.edit", 10, 10.0),
    "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}": Rule("members.roles", 10, 10.0),
    "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}": Rule("members.roles", 10, 10.0),
    "POST /users/@me/channels": Rule("dms.open", 5, 5.0),
}
#: Every other route: a generous per-route bucket (Discord's own default is of this order).
DEFAULT_RULE = Rule("default", 50, 1.0)
#: Interaction responses and followups are not counted against the global limit.
GLOBAL_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")
GLOBAL_LIMIT, GLOBAL_WINDOW = 50, 1.0
#: Invalid requests (401, 403, 429 other than shared) that get the client's IP banned for a while.
INVALID_LIMIT, INVALID_WINDOW, BAN_SECONDS = 10_000, 600.0, 3600.0
#: Edits of messages older than an hour, per channel (Discord answers 30046 past its cap).
OLD_EDIT_LIMIT, OLD_EDIT_WINDOW, OLD_AGE_SECONDS = 30, 3600.0, 3600.0
#: Edits of one message, whoever makes them: a shared resource (``X-RateLimit-Scope: shared``).
SHARED_EDIT_LIMIT, SHARED_EDIT_WINDOW = 5, 5.0
#: New DM channels opened in a short time (Discord answers 403 40003 past it).
DM_OPEN_LIMIT, DM_OPEN_WINDOW = 10, 60.0


@dataclass
class Limited:
    """A refusal: the status, the JSON body (None for the ban's plain text) and extra headers."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    scope: str | None = None
    is_global: bool = False


@dataclass
class _Window:
    start: float
    used: int = 0


class Counter:
    """A sliding log of event times, to count what happened within a window."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def count(self, now: float, window: float) -> int:
        """Return how many events fall within ``window`` seconds before ``now``."""
        while self._times and now - self._times[0] >= window:
            self._times.popleft()
        return len(self._times)

    def add(self, now: float) -> None:
        """Record one event."""
        self._times.append(now)

    def oldest(self) -> float:
        """Return the time of the oldest event still counted."""
        return self._times[0] if self._times else 0.0


class RateLimiter:
    """Keep every bucket and answer, per request, the headers to send or the 429 to give."""

    def __init__(self, mode: str = "real") -> None:
        if mode not in MODES:
            raise ValueError(f"rate limits must be one of {sorted(MODES)}, not {mode!r}")
        self.mode = mode
        self.scale = MODES[mode]
        self._windows: dict[str, _Window] = {}
        self._global = Counter()
        self._invalid = Counter()
        self._banned_until = 0.0
        self._old_edits: dict[int, Counter] = {}
        self._message_edits: dict[int, Counter] = {}
        self._dm_opens = Counter()
        self.exhausted_hits = 0
        #: The time source (seconds); tests may freeze it so that windows never pass on their own.
        self.now: Callable[[], float] = time.monotonic

    def rule(self, route: str) -> Rule:
        """Return the bucket rule of ``"METHOD /template"``."""
        return ROUTE_RULES.get(route, DEFAULT_RULE)

    def take(self, route: str, major: str, path: str) -> tuple[dict[str, str], Limited | None]:
        """Count one request; return the bucket headers and, when refused, the 429 to answer."""
        now = self.now()
        if now < self._banned_until:
            return {}, Limited(429, None, {"Retry-After": str(int(self._banned_until - now) + 1)}, "ban")
        if not path.startswith(GLOBAL_EXEMPT_PREFIXES):
            window = GLOBAL_WINDOW * self.scale
            if self._global.count(now, window) >= GLOBAL_LIMIT:
                retry = max(0.001, self._global.oldest() + window - now)
                return {}, self._too_many(retry, scope="global", is_global=True)
            self._global.add(now)
        rule = self.rule(route)
        window = rule.window * self.scale
        key = f"{rule.bucket}:{major}"
        if len(self._windows) > 10_000:  # one bucket per interaction token adds up; forget finished windows
            self._windows = {k: w for k, w in self._windows.items() if now - w.start < window}
        current = self._windows.get(key)
        if current is None or now - current.start >= window:
            current = self._windows[key] = _Window(now)
        reset_after = max(0.001, current.start + window - now)
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - current.used - 1, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(rule.bucket.encode()).hexdigest()[:32],
        }
        if current.used >= rule.limit:
            self.exhausted_hits += 1
            limited = self._too_many(reset_after, scope="user")
            limited.headers.update({**headers, "X-RateLimit-Remaining": "0"})
            return headers, limited
        current.used += 1
        return headers, None

    def _too_many(self, retry_after: float, *, scope: str, is_global: bool = False, code: int = 0) -> Limited:
        message = "You are being rate limited." if code == 0 else _CODE_MESSAGES[code]
        body = {"message": message, "retry_after": round(retry_after, 3), "global": is_global, "code": code}
        headers = {"Retry-After": str(max(1, int(retry_after + 0.999))), "X-RateLimit-Scope": scope}
        headers["Via"] = "1.1 google"
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return Limited(429, body, headers, scope, is_global)

    def note_status(self, status: int, scope: str | None) -> None:
        """Count an invalid request (401, 403, 429 not in the shared scope); ban past Discord's threshold."""
        if status not in (401, 403, 429) or scope in ("shared", "ban"):
            return
        now = self.now()
        window = INVALID_WINDOW * self.scale
        if self._invalid.count(now, window) + 1 >= INVALID_LIMIT:
            self._banned_until = now + BAN_SECONDS * self.scale
        self._invalid.add(now)

    def invalid_count(self) -> int:
        """Return the invalid requests counted in the current window."""
        return self._invalid.count(self.now(), INVALID_WINDOW * self.scale)

    def edit(self, channel_id: int, message_id: int, age_seconds: float) -> Limited | None:
        """Count an edit of a message; refuse with 30046 or a shared-scope 429 past those caps."""
        now = self.now()
        edits = self._message_edits.setdefault(message_id, Counter())
        window = SHARED_EDIT_WINDOW * self.scale
        if edits.count(now, window) >= SHARED_EDIT_LIMIT:
            return self._too_many(max(0.001, edits.oldest() + window - now), scope="shared")
        if age_seconds > OLD_AGE_SECONDS:
            old = self._old_edits.setdefault(channel_id, Counter())
            window = OLD_EDIT_WINDOW * self.scale
            if old.count(now, window) >= OLD_EDIT_LIMIT:
                return self._too_many(max(0.001, old.oldest() + window - now), scope="user", code=30046)
            old.add(now)
        edits.add(now)
        return None

    def open_dm(self) -> bool:
        """Count a new DM channel; False when too many were opened lately (40003)."""
        now = self.now()
        if self._dm_opens.count(now, DM_OPEN_WINDOW * self.scale) >= DM_OPEN_LIMIT:
            return False
        self._dm_opens.add(now)
        return True


_CODE_MESSAGES = {30046: "Maximum number of edits to messages older than 1 hour reached. Try again later"}
