"""Review nudges: the review queue, scheduled reminders, snoozes, "On it" and reviewers' leave."""

from bot.services.reviews.models import NudgeResult, QueueSnapshot, Reviewer, ReviewerGroup, WaitingReview
from bot.services.reviews.service import Acknowledged, Clicker, ReviewQueue, Target, parse_until

__all__ = [
    "Acknowledged",
    "Clicker",
    "NudgeResult",
    "QueueSnapshot",
    "ReviewQueue",
    "Reviewer",
    "ReviewerGroup",
    "Target",
    "WaitingReview",
    "parse_until",
]
