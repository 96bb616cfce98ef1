"""Logging: readable lines or JSON lines, with every secret value redacted from every record."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    """Replace known secret values in log messages, arguments and tracebacks."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def add(self, secret: str) -> None:
        """Redact one more value from now on (for example a token that exists only for a moment)."""
        if len(secret) >= 4 and secret not in self.secrets:
            self.secrets.append(secret)

    def discard(self, secret: str) -> None:
        """Stop tracking a value that no longer exists."""
        if secret in self.secrets:
            self.secrets.remove(secret)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every secret replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place."""
        if self.secrets:
            record.msg = self.scrub(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as JSON."""
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data)


_FILTER = RedactingFilter(())


def _no_voice_warning(record: logging.LogRecord) -> bool:
    """Drop discord.py's notice that voice support is missing: Vestry never uses voice."""
    return "voice will NOT be supported" not in record.getMessage()


def redactor() -> RedactingFilter:
    """The process's redacting filter, so short-lived secrets can be added to it."""
    return _FILTER


def configure(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (), stream: object = None) -> None:
    """Set up the root logger once at start-up; ``VESTRY_LOG_LEVEL`` wins over ``level``."""
    level = os.environ.get("VESTRY_LOG_LEVEL", level).upper()
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for secret in secrets:
        _FILTER.add(secret)
    handler.addFilter(_FILTER)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if level in {"DEBUG", "INFO", "WARNING", "ERROR"} else "INFO")
    logging.getLogger("discord").setLevel(max(logging.INFO, root.level))
    logging.getLogger("discord.client").addFilter(_no_voice_warning)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
