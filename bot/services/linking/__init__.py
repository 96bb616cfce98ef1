"""Identity linking: a member proves which GitHub account is theirs (device flow or a public phrase).

One GitHub account belongs to at most one member. Every change to a link emits ``member.unlinked`` and/or
``member.linked`` in the same transaction, so the ladder and kudos consumers follow. The OAuth token of the
device flow lives only inside ``Linking.complete_device``: never stored, never logged, redacted while it lives.
"""

from bot.services.linking.models import (
    AuditEntry,
    DeviceAuthorizer,
    DeviceSession,
    GitHubDirectory,
    Link,
    LinkFailed,
    LinkResult,
    ProofRequest,
    after_poll,
    check_login,
)
from bot.services.linking.service import Linking
from bot.services.linking.store import LinkStore

__all__ = [
    "AuditEntry",
    "DeviceAuthorizer",
    "DeviceSession",
    "GitHubDirectory",
    "Link",
    "LinkFailed",
    "LinkResult",
    "LinkStore",
    "Linking",
    "ProofRequest",
    "after_poll",
    "check_login",
]
