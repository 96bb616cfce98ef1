"""``vestry backfill [--repo owner/name]``: import history from the command line with a progress bar."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from bot.clock import SystemClock
from bot.config.github import CredentialsError, app_credentials
from bot.db import Database, DatabaseError, MigrationError
from bot.github.backfill import Backfill, BackfillProgress
from bot.github.client import GitHubWorker
from bot.github.installation import AppFollowing
from bot.github.repos import Repositories
from bot.github.types import GitHubError, GitHubUnavailable, GraphQLFailed, NotFound, RateLimited
from bot.ledger import Ledger

if TYPE_CHECKING:
    from bot.config.models import Settings
    from bot.config.secrets import Secrets

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_TEMPFAIL = 0, 1, 2, 69, 75
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


async def run_backfill_cli(
    settings: Settings, secrets: Secrets, repo: str | None, console: Console | None = None
) -> int:
    """Backfill ``repo`` (or every followed repository) and return the process exit code."""
    console = console or Console()
    if repo is not None and not _REPO.match(repo):
        console.print(f'[red]"{repo}" is not a repository name; write it as owner/name.[/red]')
        return EXIT_USAGE
    repos = [repo] if repo else list(settings.github.repositories)
    if repo and repo not in settings.github.repositories:
        console.print(f"[yellow]{repo} is not in github.repositories; importing it anyway.[/yellow]")
    try:
        app = app_credentials(settings.github, secrets)
    except CredentialsError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        return EXIT_USAGE
    if secrets.github_token is None and app is None:
        console.print(
            "[red]GITHUB_TOKEN is not set; the backfill needs a token (or a GitHub App) to read GitHub.[/red]"
        )
        return EXIT_USAGE
    clock = SystemClock()
    db = Database(settings.database.path)
    try:
        await db.open()
        await db.migrate()
    except (DatabaseError, MigrationError) as exc:
        console.print(f"[red]{exc}[/red]")
        return EXIT_ERROR
    worker = GitHubWorker.from_settings(settings.github, secrets, clock=clock)
    try:
        await worker.start()
        followed = Repositories(settings.github.repositories)
        if app is not None:  # a GitHub App: the repositories of its installation (those configured, if any)
            following = AppFollowing(list(settings.github.repositories), followed)
            await following.refresh(worker)
            repos = [repo] if repo else followed.names()
        await followed.resolve(db, clock, worker.repository)
        backfill = Backfill(worker, Ledger(db, clock, settings.github.ignored_accounts), db, clock, followed)
        for name in repos:
            code = await _one(backfill, name, console)
            if code != EXIT_OK:
                return code
        return EXIT_OK
    finally:
        await worker.close()
        await db.close()


async def _one(backfill: Backfill, repo: str, console: Console) -> int:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("PRs · {task.fields[reviews]} reviews · {task.fields[issues]} issues · {task.fields[stars]} stars"),
        TextColumn("· {task.fields[requests]} requests · {task.fields[remaining]} left · ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task: TaskID = bar.add_task(repo, total=None, reviews=0, issues=0, stars=0, requests=0, remaining="?", eta="–")

        def update(p: BackfillProgress) -> None:
            bar.update(
                task,
                completed=p.prs,
                total=p.total_prs,
                reviews=p.reviews,
                issues=p.issues,
                stars=p.stars,
                requests=p.requests,
                eta=_eta(p.eta_seconds),
                remaining="?" if p.rate_limit_remaining is None else p.rate_limit_remaining,
                description=f"{repo} ({p.phase})",
            )

        try:
            report = await backfill.run(repo, update)
        except RateLimited as exc:
            console.print(
                f"[yellow]{repo}: GitHub's rate limit is spent; it resumes by itself at {exc.reset_at:%H:%M} UTC "
                "(the running bot continues where this stopped, or run the same command again then).[/yellow]"
            )
            return EXIT_TEMPFAIL
        except GraphQLFailed as exc:
            console.print(f"[red]{repo}: {exc}. Progress is saved.[/red]")
            return EXIT_ERROR
        except NotFound:
            console.print(f"[red]{repo}: no such repository, or the token cannot read it.[/red]")
            return EXIT_ERROR
        except GitHubUnavailable as exc:
            console.print(
                f"[yellow]{repo}: GitHub is unavailable ({exc}). Progress is saved; run the same command "
                "again to continue.[/yellow]"
            )
            return EXIT_UNAVAILABLE
        except GitHubError as exc:
            console.print(f"[red]{repo}: {exc}[/red]")
            return EXIT_ERROR
    if report.already_done:
        console.print(f"{repo}: history was already imported; nothing to do.")
    else:
        console.print(
            f"{repo}: imported {report.prs} merged PRs, {report.reviews} reviews, {report.issues} closed "
            f"issues and {report.stars} stars in {report.requests} requests ({report.seconds:.1f} s)."
        )
    return EXIT_OK
