"""Configuration: a TOML file of settings and secrets from the environment, validated once at start-up."""

from bot.config.loader import ConfigError, Problem, load_settings, parse_settings
from bot.config.models import Settings
from bot.config.secrets import Secrets, load_secrets

__all__ = ["ConfigError", "Problem", "Secrets", "Settings", "load_secrets", "load_settings", "parse_settings"]
