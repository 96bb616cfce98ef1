"""Review nudges: the review queue, scheduled reminders, snoozes, "On it" and reviewers' leave."""

from bot.services.reviews.models import NudgeResult, QueueSnapshot, Reviewer, ReviewerGroup, WaitingReview
from bot.services.reviews.render import away_text, back_text, dm_text, on_it_text, queue_reply, snooze_text
from bot.services.reviews.service import Acknowledged, Clicker, Mode, ReviewQueue, Target, parse_until

__all__ = [
    "Acknowledged",
    "Clicker",
    "Mode",
    "NudgeResult",
    "QueueSnapshot",
    "ReviewQueue",
    "Reviewer",
    "ReviewerGroup",
    "Target",
    "WaitingReview",
    "away_text",
    "back_text",
    "dm_text",
    "on_it_text",
    "parse_until",
    "queue_reply",
    "snooze_text",
]
