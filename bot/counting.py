"""The one rule of what counts as a contribution, for SQL and Python alike.

An account counts unless it is a bot (``type == "Bot"`` or a ``[bot]`` login), GitHub's ``ghost`` (the account a
deleted user's work falls to, id 10137), an organisation, or listed in ``github.ignored_accounts`` (applied to the
ledger from the configuration at every start). Of what a counting account does:

- a merged pull request counts for its author;
- a merge counts for the merger when someone else wrote the pull request;
- a review counts for the reviewer unless it was dismissed or reviews the reviewer's own pull request;
- a closed issue counts for the closer only when it was completed: closing as "not planned" or duplicate is
  triage, not a finished issue (so closing one's own issues as not planned earns nothing).

SQL reads the rule from the views of migration 0012 (``counted_accounts``, ``counted_reviews``,
``counted_issue_closes``, ``counted_merged_prs``, ``counted_merges``); ``tests/services/test_counting.py`` checks
that the views and the functions below agree case by case, and that the views are defined as written here.
Celebrations, the ladder, leaderboards, the digest and review nudges all read these.
"""

from __future__ import annotations

from collections.abc import Iterable

GHOST_ID = 10137
GHOST_LOGIN = "ghost"

# The rule on a ``github_users`` row, as SQL: fill ``{u}`` with the table's alias and a dot ("u."), or nothing.
# Inline it where an indexed join matters (the hall of fame); elsewhere ``counted_accounts`` says the same.
COUNTED_ROW = (
    "{u}is_bot = 0 AND {u}ignored = 0 AND {u}is_org = 0 AND {u}id != 10137 AND lower({u}login) != 'ghost' "
    "AND {u}login NOT LIKE '%[bot]'"
)


def counted_row_sql(alias: str) -> str:
    """Return the rule as a SQL condition on the ``github_users`` row aliased ``alias``."""
    if not alias.isidentifier():
        raise ValueError(f"not a table alias: {alias!r}")
    return COUNTED_ROW.format(u=f"{alias}.")


# The views' definitions, exactly as migration 0012 creates them.
VIEWS: dict[str, str] = {
    "counted_accounts": "CREATE VIEW counted_accounts(id) AS SELECT id FROM github_users WHERE "
    + COUNTED_ROW.format(u=""),
    "counted_reviews": (
        "CREATE VIEW counted_reviews AS SELECT r.* FROM reviews r WHERE r.state != 'DISMISSED' AND NOT EXISTS "
        "(SELECT 1 FROM pull_requests p WHERE p.repo = r.repo AND p.number = r.number AND p.author_id = r.reviewer_id)"
    ),
    "counted_issue_closes": (
        "CREATE VIEW counted_issue_closes AS SELECT i.* FROM issues i WHERE i.state = 'closed' "
        "AND COALESCE(i.state_reason, 'completed') = 'completed'"
    ),
    "counted_merged_prs": "CREATE VIEW counted_merged_prs AS SELECT p.* FROM pull_requests p WHERE p.state = 'merged'",
    "counted_merges": (
        "CREATE VIEW counted_merges AS SELECT p.* FROM pull_requests p WHERE p.state = 'merged' "
        "AND (p.author_id IS NULL OR p.author_id != p.merged_by_id)"
    ),
}


def is_bot_account(login: str, account_type: str | None = None) -> bool:
    """Tell whether GitHub's account is a bot: ``type`` ``Bot``, or a login ending in ``[bot]``.

    Every reader of GitHub's shapes asks this (webhooks, REST, GraphQL, the ledger's accounts). GraphQL leaves
    the suffix out of a bot's login; its parser adds it back, so one login names one account everywhere.
    """
    return account_type == "Bot" or login.lower().endswith("[bot]")


def account_counts(github_id: int, login: str, *, is_bot: bool, is_org: bool, ignored: bool) -> bool:
    """Tell whether an account's work counts (see the module's rule)."""
    name = login.lower()
    return not (is_bot or is_bot_account(login) or is_org or ignored or github_id == GHOST_ID or name == GHOST_LOGIN)


def is_ignored(login: str, ignored_logins: Iterable[str]) -> bool:
    """Tell whether the configuration lists a login among the ignored accounts (case-insensitive)."""
    return login.lower() in {name.lower() for name in ignored_logins}


def review_counts(state: str, reviewer_id: int | None, pr_author_id: int | None) -> bool:
    """Tell whether a review counts for its reviewer."""
    return state != "DISMISSED" and (pr_author_id is None or pr_author_id != reviewer_id)


def issue_close_counts(state: str, state_reason: str | None) -> bool:
    """Tell whether closing an issue counts for the closer."""
    return state == "closed" and (state_reason or "completed") == "completed"


def merge_counts(author_id: int | None, merged_by_id: int | None) -> bool:
    """Tell whether merging a pull request counts for the merger."""
    return merged_by_id is not None and (author_id is None or author_id != merged_by_id)


# SQL conditions on a github_users row aliased {u} (fill with ``.format(u=alias)``): the account counts; or it
# counts or a LEFT JOIN found no account (work by someone the ledger does not know still happened).
COUNTED_ACCOUNT = "EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = {u}.id)"
COUNTED_OR_UNKNOWN = "({u}.id IS NULL OR EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = {u}.id))"
