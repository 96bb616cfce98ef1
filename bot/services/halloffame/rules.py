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


def shown_accounts_sql(alias: str = "u") -> str:
    """Return the SQL condition on ``github_users`` rows for accounts the page may show.

    Bots (by type or ``[bot]`` login), the ghost account, organisations and the configured ignored accounts
    never appear. (Organisations cannot author, review, merge or close, so the ledger never credits one.)
    """
    return (
        f"{alias}.is_bot = 0 AND {alias}.ignored = 0 AND {alias}.login NOT LIKE '%[bot]' "
        f"AND {alias}.id != {GHOST_ID} AND lower({alias}.login) != '{GHOST_LOGIN}'"
    )


def shown_account(github_id: int, login: str, *, is_bot: bool, ignored: bool, kind: str | None = None) -> bool:
    """Tell in Python what :func:`shown_accounts_sql` tells in SQL (for exports built outside the table)."""
    lowered = login.lower()
    if is_bot or ignored or lowered.endswith("[bot]") or github_id == GHOST_ID or lowered == GHOST_LOGIN:
        return False
    return kind not in ("Organization", "Bot")
