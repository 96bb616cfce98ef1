"""Build the feature services and subscribe them to domain events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.github.webhooks import WebhookReceiver

if TYPE_CHECKING:
    from bot.app import RunOptions, Services


def build_features(services: Services, options: RunOptions) -> None:
    """Create every service the cogs need."""
    settings = services.settings
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
