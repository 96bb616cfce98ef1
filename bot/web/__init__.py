"""The bot's web server and what it serves: health, metrics, webhooks and the public hall of fame."""

from bot.web.metrics import Metrics
from bot.web.server import WebServer

__all__ = ["Metrics", "WebServer"]
