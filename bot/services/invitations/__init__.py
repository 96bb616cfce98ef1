"""Invitations: one comment on a person's first pull request, inviting them to the community's Discord.

``InvitationDecider`` (an event consumer) decides and writes the row; ``InvitationSender`` posts it through
GitHub and edits it once the author is linked and celebrated; ``Invitations`` is what the cogs and the
composition root use.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.i18n import N_, Notice
from bot.services.invitations.decide import InvitationDecider, turned_on
from bot.services.invitations.render import CELEBRATED, InvitationText, body, marker, plain
from bot.services.invitations.send import CommentWriter, InvitationSender
from bot.services.invitations.store import InvitationCounts, InvitationStore

__all__ = [
    "CELEBRATED",
    "CommentWriter",
    "InvitationCounts",
    "InvitationDecider",
    "InvitationSender",
    "InvitationText",
    "Invitations",
    "body",
    "marker",
    "plain",
]


class Invitations:
    """The invitations feature: its decider, its sender, and what maintainers see of it."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, comments: CommentWriter | None) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self.decider = InvitationDecider(clock, settings)
        self.sender = None if comments is None else InvitationSender(db, clock, settings, comments)
        self._store = InvitationStore(db, settings.discord.guild_id)

    @property
    def enabled(self) -> bool:
        """Tell whether invitations are turned on."""
        return self._settings.invitations.enabled

    async def start(self) -> None:
        """Note when invitations were first turned on, and start sending."""
        if not self.enabled:
            return
        async with self._db.transaction() as conn:
            await turned_on(conn, self._clock.now())
        if self.sender is not None:
            await self.sender.start()

    async def stop(self) -> None:
        """Stop sending; what is undone stays for the next start."""
        if self.sender is not None:
            await self.sender.stop()

    async def counts(self) -> InvitationCounts:
        """How many invitations were sent, wait, failed or were cancelled."""
        return await self._store.counts(self._clock.now())

    async def problems(self, counts: InvitationCounts) -> list[str]:
        """What stops invitations from being posted, for /vestry status."""
        found: list[str] = []
        if self.sender is None:
            found.append(Notice(N_("invitations are on but there is no GitHub client to post them with")))
        if counts.failed:
            stored = await self._store.last_failure()
            error = stored[:200] if stored else Notice(N_("unknown error"))
            found.append(
                Notice.ngettext(
                    "{count} invitation comment could not be posted on GitHub; the last error: {error} (the token "
                    "needs write access to issues and pull requests)",
                    "{count} invitation comments could not be posted on GitHub; the last error: {error} (the token "
                    "needs write access to issues and pull requests)",
                    counts.failed,
                    error=error,
                )
            )
        return found

    async def in_flight(self) -> int:
        """How many invitations or edits are due now or being posted (for the sandbox's settle)."""
        now = self._clock.now()
        sent, _ = await self._store.sent_since(now - timedelta(hours=1))
        room = max(0, self._settings.invitations.per_hour - sent)  # beyond the hourly cap they wait, by design
        due = len(await self._store.due(now, room)) if room else 0
        return due + len(await self._store.edits_due(now, 1000)) + int(self.sender is not None and self.sender.busy)

    def preview(self, login: str = "octocat", number: int = 1) -> str:
        """Render the invitation as it would be posted (for a maintainer's preview)."""
        followed = self._settings.github.repositories
        repo = followed[0] if followed else "owner/project"
        text = body(self._settings.invitations, InvitationText(0, login, repo, number, "An example change"))
        return text.removesuffix("\n\n" + marker(0))
