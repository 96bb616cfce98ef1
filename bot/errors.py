"""The two kinds of error: a user's mistake, with a message safe to show, and everything else (a bug)."""


class UserFacingError(Exception):
    """An expected failure whose message is shown to the member, ephemerally."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class PermissionDenied(UserFacingError):
    """The member may not do this."""
