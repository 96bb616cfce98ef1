"""The ledger: GitHub facts land here first, idempotently, and each new fact becomes a domain event.

Every source — webhooks, polling, catch-up, backfill — turns what GitHub said into facts (``facts``, built by
``bot.github.facts``) and calls ``Ledger.apply`` (``store``). A fact that changes nothing (a redelivery, a poll
overlapping a webhook, a backfill over live data) writes no event, so nothing downstream happens twice.
"""

from bot.ledger.facts import (
    Actor,
    Fact,
    IssueFact,
    PullFact,
    ReviewFact,
    ReviewRequestFact,
    Source,
    StarFact,
    actors_of,
)
from bot.ledger.rows import ApplyResult
from bot.ledger.store import Ledger

__all__ = [
    "Actor",
    "ApplyResult",
    "Fact",
    "IssueFact",
    "Ledger",
    "PullFact",
    "ReviewFact",
    "ReviewRequestFact",
    "Source",
    "StarFact",
    "actors_of",
]
