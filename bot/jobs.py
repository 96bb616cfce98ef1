"""Scheduled jobs: one APScheduler, each job owned by a cog, every run recorded and its failures contained."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.clock import Clock
from bot.db import Database
from bot.timeutil import iso

log = logging.getLogger(__name__)

JobFunc = Callable[[], Awaitable[Any]]


@dataclass
class JobInfo:
    """A job as /vestry status and the sandbox show it."""

    name: str
    next_run: str | None
    last_start: str | None
    last_finish: str | None
    last_ok: bool | None
    last_error: str | None
    runs: int
    failures: int


class Jobs:
    """Register, run and report the bot's scheduled jobs."""

    def __init__(self, db: Database, clock: Clock, scheduler: AsyncIOScheduler | None = None) -> None:
        self._db = db
        self._clock = clock
        self.scheduler = scheduler or AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}, timezone="UTC"
        )
        self._funcs: dict[str, JobFunc] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def add(self, name: str, func: JobFunc, trigger: BaseTrigger) -> None:
        """Schedule ``func`` under ``name`` (``"<cog>.<job>"``), replacing an existing job of that name."""
        self._funcs[name] = func
        self._locks.setdefault(name, asyncio.Lock())
        self.scheduler.add_job(self.run, trigger, args=[name], id=name, name=name, replace_existing=True)

    def remove(self, name: str) -> None:
        """Unschedule a job."""
        self._funcs.pop(name, None)
        if self.scheduler.get_job(name) is not None:
            self.scheduler.remove_job(name)

    def names(self) -> list[str]:
        """Return the registered job names."""
        return sorted(self._funcs)

    async def run(self, name: str) -> bool:
        """Run a job now, one instance at a time; record the outcome; never raise."""
        func = self._funcs.get(name)
        if func is None:
            raise KeyError(name)
        async with self._locks[name]:
            await self._db.execute(
                "INSERT INTO job_runs(job, last_start, runs) VALUES (?, ?, 1) ON CONFLICT(job) DO UPDATE SET "
                "last_start = excluded.last_start, runs = runs + 1",
                (name, iso(self._clock.now())),
            )
            error = None
            try:
                await func()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("job %s failed", name)
            await self._db.execute(
                "UPDATE job_runs SET last_finish = ?, last_ok = ?, last_error = ?, failures = failures + ? "
                "WHERE job = ?",
                (iso(self._clock.now()), int(error is None), error, int(error is not None), name),
            )
            return error is None

    async def info(self) -> list[JobInfo]:
        """Describe every registered job."""
        rows = {r["job"]: r for r in await self._db.fetchall("SELECT * FROM job_runs")}
        result = []
        for name in self.names():
            job = self.scheduler.get_job(name) if self.scheduler.running else None
            next_run = job.next_run_time.isoformat() if job is not None and job.next_run_time else None
            row = rows.get(name)
            result.append(
                JobInfo(
                    name=name,
                    next_run=next_run,
                    last_start=row["last_start"] if row else None,
                    last_finish=row["last_finish"] if row else None,
                    last_ok=None if row is None or row["last_ok"] is None else bool(row["last_ok"]),
                    last_error=row["last_error"] if row else None,
                    runs=row["runs"] if row else 0,
                    failures=row["failures"] if row else 0,
                )
            )
        return result

    def start(self) -> None:
        """Start the scheduler."""
        if not self.scheduler.running:
            self.scheduler.start()

    def shutdown(self) -> None:
        """Stop the scheduler without waiting for running jobs."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
