"""The hourly reconcile: read linked members from Discord in batches, repair only the drift.

Discord is asked for a whole batch at once (the cog asks the gateway for up to 100 members by id, one op 8
REQUEST_GUILD_MEMBERS, paced to stay inside the gateway's 120 commands a minute), and a batch is repaired in one
transaction. A batch whose transaction fails is repaired member by member, so one bad row never blocks the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiosqlite

from bot.db import Database
from bot.services.ladder import store
from bot.services.ladder.engine import Engine, MemberState
from bot.services.ladder.repair import repair

log = logging.getLogger(__name__)

# After this many batches in a row that Discord did not answer, the run stops: the next one tries again.
MAX_FAILED_BATCHES = 3


class MemberDirectory(Protocol):
    """What reconcile needs from Discord; the ladder cog implements it with discord.py over the gateway."""

    @property
    def batch_size(self) -> int:
        """How many members one ``states_of`` call may ask for."""
        ...

    async def states_of(self, discord_ids: Sequence[int]) -> dict[int, MemberState]:
        """Return the roles and join time of those of ``discord_ids`` in the server; leave out the others."""
        ...

    def role_problem(self, role_id: int) -> str | None:
        """Say in plain words why the bot cannot manage a role, or None when it can."""
        ...


@dataclass
class ReconcileReport:
    """What one reconcile run saw and did."""

    checked: int = 0
    absent: int = 0
    failed: int = 0
    placed: int = 0
    added: int = 0
    removed: int = 0
    batches: int = 0
    stopped: bool = False
    problems: list[str] = field(default_factory=list)
    waiting: dict[int, int] = field(default_factory=dict)


class Reconciler:
    """Walk every linked member once, batch by batch."""

    def __init__(self, db: Database, engine: Engine) -> None:
        self._db = db
        self._engine = engine

    async def run(self, directory: MemberDirectory) -> ReconcileReport:
        """Compare every linked member's roles with what they earned and repair the drift."""
        report = ReconcileReport()
        size = max(1, directory.batch_size)
        after, failed_in_a_row = 0, 0
        while members := await store.linked_members(self._db.conn, self._engine.guild_id, after, size):
            after = members[-1]
            report.batches += 1
            try:
                states = await directory.states_of(members)
            except Exception:
                report.failed += len(members)
                failed_in_a_row += 1
                log.warning("ladder: could not read %d members from Discord", len(members), exc_info=True)
                if failed_in_a_row >= MAX_FAILED_BATCHES:
                    report.stopped = True
                    log.warning("ladder: no answer from Discord %d times in a row; next run retries", failed_in_a_row)
                    break
                continue
            failed_in_a_row = 0
            await self._repair_batch(members, states, directory, report)
        async with self._db.transaction() as conn:
            await self._engine.note_placements(conn, report.placed)
        return report

    async def _repair_batch(
        self,
        members: Sequence[int],
        states: dict[int, MemberState],
        directory: MemberDirectory,
        report: ReconcileReport,
    ) -> None:
        report.checked += len(members)
        present = [m for m in members if m in states]
        report.absent += len(members) - len(present)
        if not present:
            return
        try:
            tally = ReconcileReport()
            async with self._db.transaction() as conn:
                for member in present:
                    await self._repair_one(conn, member, states[member], directory, tally)
        except Exception:
            log.warning("ladder: repairing a batch of %d failed; repairing one by one", len(present), exc_info=True)
            tally = ReconcileReport()
            for member in present:
                try:
                    async with self._db.transaction() as conn:
                        await self._repair_one(conn, member, states[member], directory, tally)
                except Exception:
                    tally.failed += 1
                    log.exception("ladder: repairing member %s failed; next run tries again", member)
        _add(report, tally)

    async def _repair_one(
        self,
        conn: aiosqlite.Connection,
        member: int,
        state: MemberState,
        directory: MemberDirectory,
        tally: ReconcileReport,
    ) -> None:
        standing = await self._engine.standing(conn, self._engine.guild_id, member)
        if not standing.eligible:
            return
        outcome = await repair(self._engine, conn, standing, state, directory.role_problem)
        tally.placed += int(outcome.placed)
        tally.added += outcome.added
        tally.removed += outcome.removed
        for role in outcome.waiting_on:
            tally.waiting[role] = tally.waiting.get(role, 0) + 1


def _add(report: ReconcileReport, tally: ReconcileReport) -> None:
    report.failed += tally.failed
    report.placed += tally.placed
    report.added += tally.added
    report.removed += tally.removed
    for role, count in tally.waiting.items():
        report.waiting[role] = report.waiting.get(role, 0) + count
