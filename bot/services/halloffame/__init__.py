"""The public hall of fame: who contributed, how, and what they chose to show."""

from bot.services.halloffame.build import scopes_of
from bot.services.halloffame.export import all_contributors, merge_all_contributors, read_rc
from bot.services.halloffame.models import SCHEMA, SORTS, Contributor, Filters, FirstPull, Page, PersonPage
from bot.services.halloffame.rules import EMOJI, shown_account, shown_accounts_sql
from bot.services.halloffame.service import HallOfFame

__all__ = [
    "EMOJI",
    "SCHEMA",
    "SORTS",
    "Contributor",
    "Filters",
    "FirstPull",
    "HallOfFame",
    "Page",
    "PersonPage",
    "all_contributors",
    "merge_all_contributors",
    "read_rc",
    "scopes_of",
    "shown_account",
    "shown_accounts_sql",
]
