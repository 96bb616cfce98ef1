"""The text of an invitation comment: the configured template, filled with escaped values, and its marker.

Everything that comes from GitHub (a login, a title, a repository name) is shown as plain text: HTML and Markdown
are escaped, ``@`` can mention nobody, ``#12`` links to no issue, and no address becomes a link. The marker, an
HTML comment GitHub does not show, lets the sender recognise its own comment after a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config.invitations import InvitationSettings

BODY_LIMIT = 65536
CELEBRATED = "celebrated in Discord ✓"
_ZWSP = "\u200b"
# HTML's special characters become entities; Markdown's punctuation (and ``:``, for emoji codes and autolinks) is
# shown as itself after a backslash; ``@`` is followed by an invisible space, so it mentions nobody.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "@": "@" + _ZWSP}
    | {ch: "\\" + ch for ch in "\\`*_{}[]()#+-.!|~:=$^"}
)
_LINKISH = re.compile(r"(?i)(://|www\.)")


@dataclass(frozen=True)
class InvitationText:
    """What one invitation shows: the account, the pull request and the invite."""

    github_id: int
    login: str
    repo: str
    number: int
    title: str = ""


def plain(text: str, limit: int = 200) -> str:
    """Show ``text`` as plain text in GitHub Markdown: one line, no markup, no mentions, no links."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    line = _LINKISH.sub(lambda found: found.group(1)[0] + _ZWSP + found.group(1)[1:], line)
    return line.translate(_ESCAPES)


def marker(github_id: int) -> str:
    """The hidden line that names an invitation comment as Vestry's, for one account."""
    return f"<!-- vestry:invitation:{int(github_id)} -->"


def body(settings: InvitationSettings, item: InvitationText, *, celebrated: bool = False) -> str:
    """Render the comment; ``celebrated`` adds the line saying the author was celebrated in Discord."""
    text = settings.message.format_map(
        {
            "login": plain(item.login, 100),
            "repo": plain(item.repo, 150),
            "number": str(int(item.number)),
            "title": plain(item.title, 200),
            "invite": settings.discord_invite or "",
        }
    )
    tail = f"\n\n{CELEBRATED}" if celebrated else ""
    end = f"\n\n{marker(item.github_id)}"
    room = BODY_LIMIT - len(tail) - len(end)
    if len(text) > room:
        text = text[: room - 1] + "…"
    return text + tail + end
