"""Build the feature services and subscribe them to domain events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.github.webhooks import WebhookReceiver

if TYPE_CHECKING:
    from bot.app import RunOptions, Services


def build_github(services: Services, options: RunOptions) -> None:
    """Create the GitHub worker, the poller (polling and start-up catch-up) and the backfill."""
    from bot.github.backfill import Backfill
    from bot.github.client import GitHubWorker
    from bot.github.poller import Poller

    settings = services.settings
    worker = GitHubWorker.from_settings(
        settings.github, services.secrets, clock=services.clock, sandbox=not options.github_throttle
    )
    services.github = worker
    services.poller = Poller(worker, services.ledger, services.db, services.clock, services.repos)
    services.backfill = Backfill(worker, services.ledger, services.db, services.clock, services.repos)


def build_features(services: Services, options: RunOptions) -> None:
    """Create every service the cogs need."""
    settings = services.settings
    build_github(services, options)
    if settings.webhooks.enabled:
        secret = services.secrets.github_webhook_secret
        services.webhooks = WebhookReceiver(
            services.db,
            services.ledger,
            services.clock,
            secret=secret.get_secret_value() if secret else None,
            repositories=services.repos,
            path=settings.webhooks.path,
            metrics=services.metrics,
        )
    build_web(services)
    from bot.services.linking import Linking

    services.features["linking"] = Linking.from_services(services)
    from bot.services.recognition import Recognition

    recognition = Recognition(services.db, services.clock, settings, services.features)
    services.features["recognition"] = recognition
    services.bus.subscribe(recognition)
    from bot.services.digest import Digest

    services.features["digest"] = Digest.from_services(services)
    from bot.services.ladder import Ladder

    ladder = Ladder(services.db, services.clock, settings)
    services.features["ladder"] = ladder
    services.bus.subscribe(ladder)
    from bot.services.reviews import ReviewQueue

    services.features["reviews"] = ReviewQueue(services.db, services.clock, settings)
    build_invitations(services)


def build_invitations(services: Services) -> None:
    """Create the invitations feature; its decider follows the events even while it is off (so turning it on
    later never replays old pull requests)."""
    from bot.github.comments import IssueComments
    from bot.services.invitations import Invitations

    comments = IssueComments(services.github) if services.github is not None else None
    invitations = Invitations(services.db, services.clock, services.settings, comments)
    services.features["invitations"] = invitations
    services.bus.subscribe(invitations.decider)


def build_web(services: Services) -> None:
    """Create the hall of fame's service and the web server that serves it, health and metrics."""
    from bot.services.halloffame import HallOfFame
    from bot.web import WebServer

    settings = services.settings
    hall = HallOfFame(
        services.db,
        services.clock,
        guild_id=settings.discord.guild_id,
        repositories=settings.github.repositories,
        tiers=[tier.name for tier in settings.ladder.tiers],
        refresh_every=settings.hall_of_fame.refresh_every,
        newcomers=settings.hall_of_fame.newcomers,
    )
    services.features["hall_of_fame"] = hall

    async def listed() -> float:
        return float(hall.contributors)

    async def rebuild_seconds() -> float:
        return hall.rebuild_seconds

    services.metrics.gauges["vestry_hall_of_fame_contributors"] = listed
    services.metrics.gauges["vestry_hall_of_fame_rebuild_seconds"] = rebuild_seconds
    if not settings.web.enabled and services.webhooks is None:
        return
    site = None
    if settings.hall_of_fame.enabled:
        from bot.web.hof import HallOfFameSite

        site = HallOfFameSite(hall, settings.hall_of_fame, settings.github.oauth_url)
    services.web = WebServer(services.db, services.metrics, webhooks=services.webhooks, site=site)
