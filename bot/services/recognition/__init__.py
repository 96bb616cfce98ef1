"""Recognition: celebrate first merged PRs, milestones and other firsts exactly once; people thanking people.

Decisions (``celebrate``) are recorded in the celebrations table inside the event consumer's transaction, and
their posts (``publish``) go through the outbox in that same transaction, so nothing is posted twice or lost.
"""

from bot.services.recognition.models import (
    Celebration,
    FirstPull,
    KudosGiven,
    MemberRef,
    MessageRef,
    Profile,
    RecognitionGiven,
)
from bot.services.recognition.peer import (
    RECOGNITION_KINDS,
    kind_choices,
    kudos_message,
    kudos_post_key,
    recognition_answer_key,
    recognition_message,
)
from bot.services.recognition.profile import profile_embed
from bot.services.recognition.service import Recognition

__all__ = [
    "RECOGNITION_KINDS",
    "Celebration",
    "FirstPull",
    "KudosGiven",
    "MemberRef",
    "MessageRef",
    "Profile",
    "Recognition",
    "RecognitionGiven",
    "kind_choices",
    "kudos_message",
    "kudos_post_key",
    "profile_embed",
    "recognition_answer_key",
    "recognition_message",
]
