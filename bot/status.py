"""What /vestry status reports: a snapshot of the bot's health, computed without Discord."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot import __version__
from bot.i18n import N_, Notice
from bot.jobs import JobInfo
from bot.outbox import FailedRow, LaneState, failed_count, failed_rows, waiting_lanes
from bot.timeutil import iso

if TYPE_CHECKING:
    from bot.context import Services
    from bot.services.invitations import InvitationCounts


@dataclass
class StatusReport:
    """The facts /vestry status shows."""

    version: str
    uptime: timedelta
    database_bytes: int
    webhook_deliveries_last_hour: int
    outbox_waiting: int
    outbox_oldest_seconds: float
    outbox_failed: int
    rate_limit_remaining: int | None
    github_backoff_until: str | None
    jobs: list[JobInfo]
    problems: list[str] = field(default_factory=list)  # Notices where the sentence is translated
    invitations: InvitationCounts | None = None


async def collect_status(services: Services, problems: list[str]) -> StatusReport:
    """Gather the status snapshot."""
    now = services.clock.now()
    deliveries = await services.db.fetchval(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE received_at >= ?", (iso(now - timedelta(hours=1)),), default=0
    )
    waiting, oldest = (0, 0.0)
    if services.dispatcher is not None:
        waiting, oldest = await services.dispatcher.depth()
    github = services.github
    found = list(problems)
    backoff = getattr(services.poller, "backoff_until", None) if services.poller else None
    if backoff is not None and backoff > now:
        found.append(Notice(N_("GitHub rate limit reached: polling paused until {time} UTC"), time=f"{backoff:%H:%M}"))
    last_poll = getattr(services.poller, "last_report", None) if services.poller else None
    if last_poll is not None and last_poll.errors:
        found.append(
            Notice(
                N_("the last GitHub poll failed (it is retried on schedule): {error}"), error=last_poll.errors[0][:200]
            )
        )
    found += services.repos.problems()
    if services.app_following is not None:
        found += services.app_following.problems()
    found += await _github_problems(services)
    failed = await services.db.fetchall(
        "SELECT id, kind, lane, last_error FROM outbox WHERE failed = 1 AND done_at >= ? ORDER BY id DESC LIMIT 3",
        (iso(now - timedelta(days=1)),),
    )
    found += [
        Notice(
            N_(
                "a {kind} could not be done ({lane}): {error} — outbox entry #{id}, `/vestry outbox retry:{id}` "
                "tries it again"
            ),
            kind=row["kind"],
            lane=lane_label(row["lane"]),
            error=row["last_error"],
            id=row["id"],
        )
        for row in failed
    ]
    invitations = services.features.invitations
    counts = await invitations.counts() if invitations.enabled else None
    if counts is not None:
        found += await invitations.problems(counts)
    return StatusReport(
        invitations=counts,
        version=__version__,
        uptime=now - services.started_at,
        database_bytes=await services.db.size_bytes(),
        webhook_deliveries_last_hour=int(deliveries),
        outbox_waiting=waiting,
        outbox_oldest_seconds=oldest,
        outbox_failed=await failed_count(services.db),
        rate_limit_remaining=getattr(github, "rate_limit_remaining", None) if github else None,
        github_backoff_until=backoff.isoformat() if backoff is not None and backoff > now else None,
        jobs=await services.jobs.info(),
        problems=found,
    )


async def _github_problems(services: Services) -> list[Notice]:
    """Backfills waiting for GitHub's rate limit, and GraphQL errors that stopped one (named by their type)."""
    rows = await services.db.fetchall(
        "SELECT key, value FROM state WHERE key LIKE 'backfill:waiting:%' OR key LIKE 'backfill:error:%' ORDER BY key"
    )
    found = []
    for row in rows:
        key, value = str(row["key"]), str(row["value"])
        if key.startswith("backfill:waiting:"):
            repo = key.removeprefix("backfill:waiting:")
            found.append(
                Notice(
                    N_("the backfill of {repo} waits for GitHub's rate limit; it resumes by itself at {time} UTC"),
                    repo=repo,
                    time=value[11:16],
                )
            )
        else:
            found.append(
                Notice(
                    N_("the backfill of {repo} stopped: {error}"),
                    repo=key.removeprefix("backfill:error:"),
                    error=value[:200],
                )
            )
    return found


def lane_label(lane: str) -> str:
    """Name a lane for maintainers: ``#channel``, a member's DMs or a member's roles (as Discord mentions; a
    Notice where there are words to translate)."""
    kind, _, ident = lane.partition(":")
    if kind == "channel" and ident.isdigit():
        return f"<#{ident}>"
    if kind == "dm" and ident.isdigit():
        return Notice(N_("DMs to {member}"), member=f"<@{ident}>")
    if kind == "roles" and ident.isdigit():
        return Notice(N_("roles of {member}"), member=f"<@{ident}>")
    return lane or Notice(N_("other"))


@dataclass
class OutboxReport:
    """What /vestry outbox shows: the lanes with waiting side effects and the failed ones (dead letters)."""

    lanes: list[LaneState]
    failed: list[FailedRow]
    failed_total: int


async def collect_outbox(services: Services) -> OutboxReport:
    """Gather what waits in the outbox, per lane, and what failed for good."""
    db = services.db
    return OutboxReport(await waiting_lanes(db), await failed_rows(db), await failed_count(db))
