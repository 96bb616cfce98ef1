"""The one after-commit hook: a write names what it wrote, and whoever waits for that is woken once it commits.

Three workers read what transactions write: the event bus (the ``events`` table), the outbox dispatcher (the
``outbox`` table) and the invitation sender (the ``invitations`` table). Rather than every writer remembering to
wake them after its transaction, the functions that write those tables call :func:`wrote` inside the transaction,
and :meth:`bot.db.Database.transaction` runs the listeners of each topic written once the transaction has
committed — never for one that rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

EVENTS = "events"
OUTBOX = "outbox"
INVITATIONS = "invitations"

_WRITTEN: ContextVar[set[str] | None] = ContextVar("vestry_written_topics", default=None)


def wrote(topic: str) -> None:
    """Note that the current transaction wrote ``topic``; its listeners run after the commit.

    Outside a transaction (a test writing on a bare connection) there is nothing to wait for: nobody is woken.
    """
    topics = _WRITTEN.get()
    if topics is not None:
        topics.add(topic)


class CommitHooks:
    """The listeners of one database, by topic."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[], None]]] = {}

    def add(self, topic: str, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every committed transaction that wrote ``topic``."""
        self._listeners.setdefault(topic, []).append(listener)

    @contextmanager
    def collecting(self) -> Iterator[set[str]]:
        """Collect the topics written while the block runs (one transaction)."""
        topics: set[str] = set()
        token = _WRITTEN.set(topics)
        try:
            yield topics
        finally:
            _WRITTEN.reset(token)

    def fire(self, topics: set[str]) -> None:
        """Run the listeners of ``topics`` (after a commit); one that fails is logged and the others still run."""
        for topic in sorted(topics):
            for listener in self._listeners.get(topic, ()):
                try:
                    listener()
                except Exception:
                    log.exception("after-commit listener for %s failed", topic)
