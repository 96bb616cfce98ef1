"""Who may appear in the hall of fame: the one place that says it, so it can follow the project's single rule."""

from __future__ import annotations

from bot.counting import COUNTED_ROW, account_counts, counted_row_sql, is_bot_account

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


# Who the page may show is who counts (bot.counting): no bots, organisations, ghost or ignored accounts. The
# SQL condition on a ``github_users`` row: fill ``{u}`` with its alias and a dot. A constant, so the SQL stays
# built from constants.
SHOWN_ACCOUNTS = COUNTED_ROW


def shown_accounts_sql(alias: str = "u") -> str:
    """Return the SQL condition on the ``github_users`` row aliased ``alias`` for accounts the page shows."""
    return counted_row_sql(alias)


def shown_account(github_id: int, login: str, *, is_bot: bool, ignored: bool, kind: str | None = None) -> bool:
    """Tell in Python what :func:`shown_accounts_sql` tells in SQL (for exports built outside the table)."""
    return account_counts(
        github_id, login, is_bot=is_bot or is_bot_account(login, kind), is_org=kind == "Organization", ignored=ignored
    )
