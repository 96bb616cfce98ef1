"""Post invitation comments and their "celebrated" edits, at most ``per_hour`` an hour, each exactly once.

The sender is woken by the after-commit hook when the decider writes a row (and looks again on a timer for rows
that wait: a rate limit, a retry, the hourly cap). Before posting it notes ``sending_at``; after a crash, a row
with it set is first looked for on the pull request (by its hidden marker), so a comment that reached GitHub is
recorded, not posted twice. 5xx answers and rate limits are retried with backoff; other refusals end the row
as failed, which ``/vestry status`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.db.commits import INVITATIONS
from bot.github.types import GitHubError, GitHubUnavailable, RateLimited
from bot.services.invitations import render
from bot.services.invitations.store import Invitation, InvitationStore, backoff

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
HOUR = timedelta(hours=1)


class PostedComment(Protocol):
    """A comment GitHub holds."""

    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...


class CommentWriter(Protocol):
    """What the sender needs from GitHub."""

    async def create(self, repo: str, number: int, body: str) -> PostedComment: ...
    async def edit(self, repo: str, comment_id: int, body: str) -> PostedComment: ...
    async def find(self, repo: str, number: int, marker: str) -> PostedComment | None: ...


class InvitationSender:
    """Post due invitations and edits; one background loop, woken after commits that write invitations."""

    def __init__(
        self, db: Database, clock: Clock, settings: Settings, comments: CommentWriter, poll_interval: float = 5.0
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings.invitations
        self._comments = comments
        self._store = InvitationStore(db, settings.discord.guild_id)
        self._poll = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        db.after_commit(INVITATIONS, self.wake)

    def wake(self) -> None:
        """Look at the invitations now."""
        self._wake.set()

    async def start(self) -> None:
        """Start the background loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="vestry-invitations")

    async def stop(self) -> None:
        """Stop the loop; what is undone stays for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def busy(self) -> bool:
        """Tell whether a round is running now."""
        return self._busy

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending invitations failed; trying again")
                delay = self._poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def run_once(self) -> float:
        """Post what is due now; return how many seconds to wait before looking again."""
        self._busy = True
        try:
            now = self._clock.now()
            await self._store.catch_celebrated(now)
            for item in await self._store.edits_due(now):
                await self._edit(item)
            room = await self._room()
            if room > 0:
                for item in await self._store.due(self._clock.now(), room):
                    await self._send(item)
            return await self._delay()
        finally:
            self._busy = False

    async def _room(self) -> int:
        """How many invitations may be posted now under the hourly cap."""
        sent, _ = await self._store.sent_since(self._clock.now() - HOUR)
        return max(0, self._settings.per_hour - sent)

    async def _delay(self) -> float:
        now = self._clock.now()
        sent, oldest = await self._store.sent_since(now - HOUR)
        wait = self._poll
        if sent >= self._settings.per_hour and oldest is not None:
            wait = min(wait, (oldest + HOUR - now).total_seconds())
        due = await self._store.next_due()
        if due is not None:
            wait = min(wait, (due - now).total_seconds())
        return max(0.05, wait)

    async def _send(self, item: Invitation) -> None:
        now = self._clock.now()
        reason = await self._store.still_wanted(item, self._settings.opt_out_labels)
        if reason is not None:
            await self._store.end(item, "cancelled", reason, now)
            log.info("invitation %s not posted: %s", item.id, reason)
            return
        text = render.body(self._settings, item.text)
        try:
            if item.sending_at is not None:
                found = await self._comments.find(item.repo, item.number, render.marker(item.github_id))
                if found is not None:
                    log.info("invitation %s was posted before a restart; recording it", item.id)
                    await self._store.sent(item, found.id, found.url, self._clock.now())
                    return
            await self._store.sending(item, now)
            posted = await self._comments.create(item.repo, item.number, text)
        except (RateLimited, GitHubUnavailable) as exc:
            await self._again(item, exc)
            return
        except GitHubError as exc:
            await self._store.end(item, "failed", str(exc), self._clock.now())
            log.warning("invitation %s on %s#%s failed: %s", item.id, item.repo, item.number, exc)
            return
        except Exception as exc:  # a bug or an answer nobody expected: this row backs off, the others go on
            log.exception("invitation %s on %s#%s hit an unexpected error", item.id, item.repo, item.number)
            await self._again(item, GitHubError(f"unexpected error: {type(exc).__name__}"))
            return
        await self._store.sent(item, posted.id, posted.url, self._clock.now())
        log.info("invitation posted on %s#%s", item.repo, item.number)

    async def _again(self, item: Invitation, exc: GitHubError) -> None:
        """Retry later: at the rate limit's reset, or after a growing pause; give up after MAX_ATTEMPTS."""
        now = self._clock.now()
        if item.attempts + 1 >= MAX_ATTEMPTS:
            await self._store.end(item, "failed", f"gave up after {item.attempts + 1} attempts: {exc}", now)
            return
        at = exc.reset_at if isinstance(exc, RateLimited) else now + backoff(item.attempts + 1)
        await self._store.retry(item, str(exc), max(at, now))
        log.warning("invitation %s will be tried again at %s: %s", item.id, at.isoformat(), exc)

    async def _edit(self, item: Invitation) -> None:
        assert item.comment_id is not None
        text = render.body(self._settings, item.text, celebrated=True)
        try:
            await self._comments.edit(item.repo, item.comment_id, text)
        except (RateLimited, GitHubUnavailable) as exc:
            at = exc.reset_at if isinstance(exc, RateLimited) else self._clock.now() + backoff(item.attempts + 1)
            await self._store.retry(item, str(exc), at)
            return
        except Exception as exc:  # 4xx (the comment was deleted, the PR locked) or a bug: never retried forever
            log.warning("invitation %s: the comment could not be edited: %s", item.id, exc)
            await self._store.edited(item, self._clock.now(), f"the comment could not be edited: {exc}")
            return
        await self._store.edited(item, self._clock.now())
        log.info("invitation comment on %s#%s now says the author was celebrated", item.repo, item.number)
