"""The context the composition root builds once, in dependency order, and hands to the bot and its cogs.

Everything here is typed and frozen: a cog reads ``bot.services.features.ladder`` and mypy checks the call it
makes; nothing is looked up by name. ``bot.features.build_services`` builds it; services themselves never see
it (each gets exactly what it needs in its constructor), so ``bot/services`` imports neither this module nor
``bot.app``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.config import Secrets, Settings
from bot.db import Database
from bot.events import EventBus
from bot.github.backfill import Backfill
from bot.github.client import GitHubWorker
from bot.github.installation import AppFollowing
from bot.github.poller import Poller
from bot.github.repos import Repositories
from bot.github.webhooks import WebhookReceiver
from bot.jobs import Jobs
from bot.ledger import Ledger
from bot.outbox import Dispatcher
from bot.services.digest import Digest
from bot.services.halloffame import HallOfFame
from bot.services.invitations import Invitations
from bot.services.ladder import Ladder
from bot.services.linking import Linking
from bot.services.recognition import Recognition
from bot.services.reviews import ReviewQueue
from bot.startup import Backoff
from bot.web import Metrics, WebServer


@dataclass
class RunOptions:
    """How the process is wired: real Discord and GitHub, or the sandbox's emulators."""

    sync: str = "changed"
    guild_ready_timeout: float = 2.0
    github_throttle: bool = True
    ready_timeout: float = 60.0
    webhook_host: str | None = None  # the web server's address (it also receives webhooks), over the settings'
    webhook_port: int | None = None
    first_start_prompt: bool = True
    discord_backoff: Backoff = field(default_factory=Backoff)
    github_backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class Features:
    """The feature services the cogs drive."""

    linking: Linking
    recognition: Recognition
    digest: Digest
    ladder: Ladder
    reviews: ReviewQueue
    hall_of_fame: HallOfFame
    invitations: Invitations


@dataclass(frozen=True)
class Services:
    """Everything the bot and its cogs use, built once; ``web`` and ``webhooks`` exist when configured."""

    settings: Settings
    secrets: Secrets
    db: Database
    clock: Clock
    jobs: Jobs
    bus: EventBus
    ledger: Ledger
    metrics: Metrics
    started_at: datetime
    repos: Repositories
    github: GitHubWorker
    poller: Poller
    backfill: Backfill
    dispatcher: Dispatcher
    features: Features
    webhooks: WebhookReceiver | None = None
    web: WebServer | None = None
    app_following: AppFollowing | None = None  # a GitHub App's reach; None with a token
