"""Configuration: a TOML file of settings and secrets from the environment, validated once at start-up."""

from bot.config.loader import ConfigError, Problem, Secrets, load_secrets, load_settings, parse_settings
from bot.config.models import Settings

__all__ = ["ConfigError", "Problem", "Secrets", "Settings", "load_secrets", "load_settings", "parse_settings"]
