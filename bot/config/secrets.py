"""The secrets Vestry reads from the environment (tokens, keys, the webhook secret), never from the settings file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class Secrets:
    """The secrets Vestry reads from the environment, never from the settings file."""

    discord_token: SecretStr | None
    github_token: SecretStr | None
    github_app_id: str | None
    github_app_private_key_file: str | None
    github_webhook_secret: SecretStr | None
    github_app_private_key: SecretStr | None = None

    def values(self) -> list[str]:
        """Return every secret value, for redacting logs."""
        found = [self.discord_token, self.github_token, self.github_webhook_secret, self.github_app_private_key]
        return [secret.get_secret_value() for secret in found if secret and secret.get_secret_value()]


def _secret(env: Mapping[str, str], name: str) -> SecretStr | None:
    value = env.get(name, "").strip()
    return SecretStr(value) if value else None


def load_secrets(env: Mapping[str, str] | None = None) -> Secrets:
    """Read the secrets from the environment."""
    env = os.environ if env is None else env
    return Secrets(
        discord_token=_secret(env, "DISCORD_TOKEN"),
        github_token=_secret(env, "GITHUB_TOKEN"),
        github_app_id=env.get("GITHUB_APP_ID") or None,
        github_app_private_key_file=env.get("GITHUB_APP_PRIVATE_KEY_FILE") or None,
        github_webhook_secret=_secret(env, "GITHUB_WEBHOOK_SECRET"),
        github_app_private_key=_secret(env, "GITHUB_APP_PRIVATE_KEY"),
    )
