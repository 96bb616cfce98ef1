"""Who may appear in the hall of fame: the one place that says it, so it can follow the project's single rule."""

from __future__ import annotations

GHOST_ID = 10137  # GitHub's "ghost": what a deleted account's contributions are credited to
GHOST_LOGIN = "ghost"
EMOJI: dict[str, str] = {
    "a11y": "♿️",
    "audio": "🔊",
    "blog": "📝",
    "bug": "🐛",
    "business": "💼",
    "code": "💻",
    "content": "🖋",
    "data": "🔣",
    "design": "🎨",
    "doc": "📖",
    "eventOrganizing": "📋",
    "example": "💡",
    "financial": "💵",
    "fundingFinding": "🔍",
    "ideas": "🤔",
    "infra": "🚇",
    "maintenance": "🚧",
    "mentoring": "🧑‍🏫",
    "platform": "📦",
    "plugin": "🔌",
    "projectManagement": "📆",
    "promotion": "📣",
    "question": "💬",
    "research": "🔬",
    "review": "👀",
    "security": "🛡️",
    "talk": "📢",
    "test": "⚠️",
    "tool": "🔧",
    "translation": "🌍",
    "tutorial": "✅",
    "userTesting": "📓",
    "video": "📹",
}


# The SQL condition on a ``github_users`` row (alias ``{u}``) for accounts the page may show: no bots (by type or
# ``[bot]`` login), not the ghost account, not the configured ignored accounts. Organisations cannot author,
# review, merge or close, so the ledger never credits one. A constant, so the SQL stays built from constants.
SHOWN_ACCOUNTS = (
    "{u}.is_bot = 0 AND {u}.ignored = 0 AND {u}.login NOT LIKE '%[bot]' AND {u}.id != 10137 "
    "AND lower({u}.login) != 'ghost'"
)


def shown_accounts_sql(alias: str = "u") -> str:
    """Return :data:`SHOWN_ACCOUNTS` for a table alias."""
    return SHOWN_ACCOUNTS.format(u=alias)


def shown_account(github_id: int, login: str, *, is_bot: bool, ignored: bool, kind: str | None = None) -> bool:
    """Tell in Python what :func:`shown_accounts_sql` tells in SQL (for exports built outside the table)."""
    lowered = login.lower()
    if is_bot or ignored or lowered.endswith("[bot]") or github_id == GHOST_ID or lowered == GHOST_LOGIN:
        return False
    return kind not in ("Organization", "Bot")
