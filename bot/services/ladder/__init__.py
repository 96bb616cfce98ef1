"""The contributor ladder: Follower → Priest in training → Priest, roles that follow contributions."""

from bot.services.ladder.engine import MemberState
from bot.services.ladder.leaderboard import Board, Entry, Leaderboard, parse_category, parse_period
from bot.services.ladder.service import Decision, Ladder, MemberDirectory, ReconcileReport, TierProgress

__all__ = [
    "Board",
    "Decision",
    "Entry",
    "Ladder",
    "Leaderboard",
    "MemberDirectory",
    "MemberState",
    "ReconcileReport",
    "TierProgress",
    "parse_category",
    "parse_period",
]
