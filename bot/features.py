"""Build the context: the core, the GitHub adapter, the feature services and the outbox, in dependency order."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Secrets, Settings
from bot.context import Features, RunOptions, Services
from bot.db import Database
from bot.events import EventBus
from bot.github.backfill import Backfill
from bot.github.client import GitHubWorker
from bot.github.comments import IssueComments
from bot.github.device_flow import DeviceFlow
from bot.github.installation import AppFollowing
from bot.github.poller import Poller
from bot.github.repos import Repositories
from bot.github.webhooks import WebhookReceiver
from bot.jobs import Jobs
from bot.ledger import Ledger
from bot.outbox import Dispatcher
from bot.outbox.model import DiscordSink
from bot.services.digest import Digest
from bot.services.halloffame import HallOfFame, scopes_of
from bot.services.invitations import Invitations
from bot.services.ladder import Ladder
from bot.services.linking import Linking, LinkStore
from bot.services.recognition import Recognition
from bot.services.reviews import ReviewQueue
from bot.web import Metrics, WebServer


def build_services(
    settings: Settings,
    secrets: Secrets,
    db: Database,
    clock: Clock,
    options: RunOptions,
    sink: DiscordSink | None = None,
) -> Services:
    """Wire the core and every feature service together; ``sink`` performs the outbox's rows (the bot's, bound
    once the bot exists; an unbound one where nothing is sent, as in the documentation generator)."""
    if sink is None:
        from bot.discord.client import BotSink

        sink = BotSink(clock)
    ledger = Ledger(db, clock, settings.github.ignored_accounts)
    repos = Repositories(settings.github.repositories)
    metrics = Metrics()
    github = GitHubWorker.from_settings(settings.github, secrets, clock=clock, sandbox=not options.github_throttle)
    webhooks = None
    if settings.webhooks.enabled:
        secret = secrets.github_webhook_secret
        webhooks = WebhookReceiver(
            db,
            ledger,
            clock,
            secret=secret.get_secret_value() if secret else None,
            repositories=repos,
            path=settings.webhooks.path,
            metrics=metrics,
        )
    features = build_features(settings, db, clock, ledger, github)
    bus = EventBus(db, clock)
    bus.subscribe(features.recognition)
    bus.subscribe(features.ladder)
    # The invitations' decider follows the events even while invitations are off, so turning them on later never
    # replays old pull requests.
    bus.subscribe(features.invitations.decider)
    return Services(
        settings=settings,
        secrets=secrets,
        db=db,
        clock=clock,
        jobs=Jobs(db, clock),
        bus=bus,
        ledger=ledger,
        metrics=metrics,
        started_at=clock.now(),
        repos=repos,
        github=github,
        poller=Poller(github, ledger, db, clock, repos),
        backfill=Backfill(github, ledger, db, clock, repos),
        dispatcher=Dispatcher(db, clock, sink),
        features=features,
        webhooks=webhooks,
        web=build_web(settings, db, metrics, webhooks, features.hall_of_fame),
        app_following=AppFollowing(list(settings.github.repositories), repos) if github.app_mode else None,
    )


async def follow_installation(services: Services) -> None:
    """In App mode, follow the installation's repositories and listen to its webhooks (nothing in token mode).

    ``settings.github.repositories`` is kept equal to what is followed, in place, so the services that read the
    list (reviews, digest) follow the installation too.
    """
    following, worker = services.app_following, services.github
    if following is None:
        return
    shared: list[str] = services.settings.github.repositories
    hall = services.features.hall_of_fame

    def sync() -> None:
        shared[:] = services.repos.names()
        hall.repositories = list(shared)
        hall.scopes = scopes_of(hall.repositories)

    following.changed = sync
    await following.refresh(worker)
    following.auth = worker.app_auth
    following.installation_id = worker.app_auth.installation_id if worker.app_auth is not None else None
    if services.webhooks is not None:
        services.webhooks.installations = following.on_webhook


def build_features(settings: Settings, db: Database, clock: Clock, ledger: Ledger, github: GitHubWorker) -> Features:
    """Create every feature service, each with exactly what it needs."""
    store = LinkStore(
        db, clock, attempts_per_hour=settings.linking.attempts_per_hour, ignored=settings.github.ignored_accounts
    )
    linking = Linking(
        store, clock, settings.linking, settings.github, lambda: github, DeviceFlow(settings.github.oauth_url)
    )
    ladder = Ladder(db, clock, settings)
    reviews = ReviewQueue(db, clock, settings)
    return Features(
        invitations=Invitations(db, clock, settings, IssueComments(github)),
        linking=linking,
        recognition=Recognition(db, clock, settings, ladder=ladder),
        digest=Digest(db, clock, settings, go_live=ledger.go_live, reviews=reviews),
        ladder=ladder,
        reviews=reviews,
        hall_of_fame=HallOfFame(
            db,
            clock,
            guild_id=settings.discord.guild_id,
            repositories=settings.github.repositories,
            tiers=[tier.name for tier in settings.ladder.tiers],
            refresh_every=settings.hall_of_fame.refresh_every,
            newcomers=settings.hall_of_fame.newcomers,
        ),
    )


def build_web(
    settings: Settings, db: Database, metrics: Metrics, webhooks: WebhookReceiver | None, hall: HallOfFame
) -> WebServer | None:
    """Create the web server (health, metrics, webhooks, the hall of fame's pages) when it is on."""

    async def listed() -> float:
        return float(hall.contributors)

    async def rebuild_seconds() -> float:
        return hall.rebuild_seconds

    metrics.gauges["vestry_hall_of_fame_contributors"] = listed
    metrics.gauges["vestry_hall_of_fame_rebuild_seconds"] = rebuild_seconds
    if not settings.web.enabled and webhooks is None:
        return None
    site = None
    if settings.hall_of_fame.enabled:
        from bot.web.hof import HallOfFameSite

        site = HallOfFameSite(hall, settings.hall_of_fame, settings.github.oauth_url)
    return WebServer(db, metrics, webhooks=webhooks, site=site)
