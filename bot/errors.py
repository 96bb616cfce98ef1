"""The two kinds of error: a user's mistake, with a message safe to show, and everything else (a bug)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.i18n import Lang


class UserFacingError(Exception):
    """An expected failure whose message is shown to the member, ephemerally.

    The message is a template from the catalogues (its ``{placeholders}`` filled from ``values``), so that the
    member reads it in their own language; ``message`` is the English text, for logs and tests.
    """

    def __init__(self, message: str, /, **values: Any) -> None:
        self.template = message
        self.values = values
        self.message = message.format(**values) if values else message
        super().__init__(self.message)

    def translated(self, lang: Lang) -> str:
        """Return the message in ``lang``."""
        return lang.gettext(self.template, **self.values)


class PermissionDenied(UserFacingError):
    """The member may not do this."""
