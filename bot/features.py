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
    services.poller = Poller(worker, services.ledger, services.db, services.clock, settings.github.repositories)
    services.backfill = Backfill(worker, services.ledger, services.db, services.clock)


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
            repositories=settings.github.repositories,
            path=settings.webhooks.path,
            metrics=services.metrics,
        )
    from bot.services.linking import Linking

    services.features["linking"] = Linking.from_services(services)
    from bot.services.recognition import Recognition

    recognition = Recognition(
        services.db,
        services.clock,
        settings,
        services.bus,
        services.features,
        wake=lambda: services.dispatcher.wake() if services.dispatcher is not None else None,
    )
    services.features["recognition"] = recognition
    services.bus.subscribe(recognition)
    from bot.services.digest import Digest

    services.features["digest"] = Digest.from_services(services)
    from bot.services.ladder import Ladder

    ladder = Ladder(
        services.db,
        services.clock,
        settings,
        wake=lambda: services.dispatcher.wake() if services.dispatcher is not None else None,
    )
    services.features["ladder"] = ladder
    services.bus.subscribe(ladder)
    from bot.services.reviews import ReviewQueue

    services.features["reviews"] = ReviewQueue(services.db, services.clock, settings)
