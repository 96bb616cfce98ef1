"""Pure functions that turn celebrations into posts: one person per post, or a combined post for a burst."""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from bot.config.models import KudosSettings, LadderSettings, TierCriteria
from bot.messages import Button, OutMessage, clean_text, escape_markdown, mention
from bot.services.recognition.models import (
    FIRST_ISSUE_CLOSED,
    FIRST_MERGE,
    FIRST_PR,
    FIRST_REVIEW,
    MILESTONE,
    Celebration,
)

log = logging.getLogger(__name__)

GREEN, GOLD, BLUE = 0x2ECC71, 0xF1C40F, 0x3498DB
CLAIM_PREFIX = "link:claim:"
MAX_PER_POST = 10

_FOOTERS = {
    FIRST_PR: "First merged pull request",
    FIRST_REVIEW: "First review",
    FIRST_ISSUE_CLOSED: "First issue closed",
    FIRST_MERGE: "First merge of someone else's pull request",
}


def ordinal(n: int) -> str:
    """Return 1st, 2nd, 3rd, 11th, 22nd…"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who(celebration: Celebration) -> str:
    """Name the person: a mention when linked, otherwise their escaped GitHub login."""
    if celebration.shown_discord_id is not None:
        return mention(celebration.shown_discord_id)
    return f"**{escape_markdown(celebration.login)}**"


def _template_values(celebration: Celebration) -> dict[str, str]:
    return {
        "author": who(celebration),
        "pr_title": escape_markdown(celebration.title),
        "pr_url": celebration.url,
        "pr_number": str(celebration.number or ""),
        "repo": escape_markdown(celebration.repo),
        "merged_by": escape_markdown(celebration.merged_by or "someone"),
        "count": str(celebration.count),
    }


def _plain_names_only(template: str, values: Mapping[str, str]) -> bool:
    """Tell whether every placeholder is a bare known name (no ``.attr``, ``[index]`` or nested field)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return False
    return all(name in values and "{" not in (spec or "") for _, name, spec, _ in parsed if name is not None)


def fill(template: str, values: Mapping[str, str], fallback: str) -> str:
    """Fill a named-placeholder template from a dict of strings (no attribute access, no indexing, no code)."""
    if _plain_names_only(template, values):
        try:
            return template.format_map(dict(values))
        except (KeyError, ValueError, IndexError):
            pass
    log.warning("a kudos template could not be filled; using the default text")
    return fallback.format_map(dict(values))


def _default(name: str) -> str:
    return str(KudosSettings.model_fields[name].default)


def headline(celebration: Celebration, settings: KudosSettings) -> str:
    """Return the text line that celebrates one person."""
    values = _template_values(celebration)
    if celebration.kind == FIRST_PR:
        return fill(settings.first_pr_message, values, _default("first_pr_message"))
    if celebration.kind == MILESTONE:
        return fill(settings.milestone_message, values, _default("milestone_message"))
    author, repo = values["author"], values["repo"]
    if celebration.kind == FIRST_REVIEW:
        return f"👀 {author} just gave their first review. Reviews keep {repo} moving: thank you!"
    if celebration.kind == FIRST_ISSUE_CLOSED:
        return f"✅ {author} just closed their first issue in {repo}. Thank you!"
    return f"🔑 {author} merged someone else's pull request for the first time. Thank you for looking after {repo}!"


def label(celebration: Celebration) -> str:
    """Say in a few words what is celebrated."""
    if celebration.kind == MILESTONE:
        return f"{ordinal(celebration.count)} merged pull request"
    return _FOOTERS[celebration.kind].lower()


def _link(celebration: Celebration) -> str:
    title = escape_markdown(_cut(celebration.title or f"#{celebration.number}", 120))
    return f"[{title}]({celebration.url})" if celebration.url else title


def detail_line(celebration: Celebration, *, titled: bool = False) -> str:
    """Describe the pull request, review or issue behind a celebration in one line.

    ``titled``: the embed's title already shows and links the pull request or issue, so the line does not
    repeat it.
    """
    repo = escape_markdown(celebration.repo)
    merged_by = escape_markdown(celebration.merged_by) if celebration.merged_by else "a maintainer"
    other = escape_markdown(celebration.other) if celebration.other else "a contributor"
    if titled:
        if celebration.kind in (FIRST_PR, MILESTONE):
            return f"In {repo}, merged by {merged_by}"
        if celebration.kind == FIRST_REVIEW:
            return f"A review in {repo}"
        if celebration.kind == FIRST_ISSUE_CLOSED:
            return f"An issue closed in {repo}"
        return f"A pull request by {other} in {repo}"
    if celebration.kind in (FIRST_PR, MILESTONE):
        return f"{_link(celebration)} in {repo}, merged by {merged_by}"
    if celebration.kind == FIRST_REVIEW:
        return f"reviewed {_link(celebration)} in {repo}"
    if celebration.kind == FIRST_ISSUE_CLOSED:
        return f"closed {_link(celebration)} in {repo}"
    return f"merged {_link(celebration)} by {other} in {repo}"


def profile_url(celebration: Celebration) -> str | None:
    """Return the person's GitHub profile URL, on the same host as the pull request."""
    parts = urlsplit(celebration.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/{celebration.login}"


def _embed(celebration: Celebration) -> dict[str, object]:
    author: dict[str, object] = {"name": _cut(clean_text(celebration.login), 256)}
    if (url := profile_url(celebration)) is not None:
        author["url"] = url
    if celebration.avatar_url:
        author["icon_url"] = celebration.avatar_url
    footer = (
        f"Milestone: {celebration.count} merged pull requests"
        if celebration.kind == MILESTONE
        else _FOOTERS[celebration.kind]
    )
    embed: dict[str, object] = {
        "author": author,
        "title": _cut(escape_markdown(celebration.title or f"{celebration.repo}#{celebration.number}"), 256),
        "description": detail_line(celebration, titled=True),
        "color": {FIRST_PR: GREEN, MILESTONE: GOLD}.get(celebration.kind, BLUE),
        "footer": {"text": footer},
    }
    if celebration.url:
        embed["url"] = celebration.url
    if celebration.avatar_url:
        embed["thumbnail"] = {"url": celebration.avatar_url}
    if celebration.at:
        embed["timestamp"] = celebration.at
    return embed


def claim_button(celebration: Celebration, named: bool) -> Button:
    """Return the "This is me" button an unlinked person clicks to link their account."""
    text = f"This is me: {celebration.login}" if named else "This is me"
    return Button(_cut(text, 80), custom_id=f"{CLAIM_PREFIX}{celebration.github_id}", style="primary")


def _buttons(items: Sequence[Celebration], named: bool) -> tuple[Button, ...]:
    seen: dict[int, Button] = {}
    for item in items:
        if item.shown_discord_id is None and item.github_id not in seen:
            seen[item.github_id] = claim_button(item, named)
    return tuple(seen.values())[:25]


def _mentions(items: Sequence[Celebration]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(i.shown_discord_id for i in items if i.shown_discord_id is not None))


def single_post(celebration: Celebration, settings: KudosSettings) -> OutMessage:
    """Render the post that celebrates one person."""
    return OutMessage(
        content=_cut(headline(celebration, settings), 2000),
        embeds=(_embed(celebration),),
        buttons=_buttons([celebration], named=False),
        mention_users=_mentions([celebration]),
    )


def _names(items: Sequence[Celebration]) -> str:
    names = list(dict.fromkeys(who(item) for item in items))
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def combined_post(items: Sequence[Celebration]) -> OutMessage:
    """Render one post that celebrates several people at once (a burst)."""
    fields = [
        {"name": _cut(f"{item.login} · {label(item)}", 256), "value": _cut(detail_line(item), 1024), "inline": False}
        for item in items
    ]
    embed = {
        "title": "A round of thanks",
        "description": f"{len(items)} celebrations at once. Welcome, and thank you all!",
        "color": GREEN,
        "fields": fields,
    }
    return OutMessage(
        content=_cut(f"🎉 Kudos to {_names(items)}!", 2000),
        embeds=(embed,),
        buttons=_buttons(items, named=True),
        mention_users=_mentions(items),
    )


def post(items: Sequence[Celebration], settings: KudosSettings, combined: bool) -> OutMessage:
    """Render a celebration post, single or combined."""
    if combined or len(items) > 1:
        return combined_post(items)
    return single_post(items[0], settings)


def split_burst(items: Sequence[Celebration], size: int = MAX_PER_POST) -> list[list[Celebration]]:
    """Split a burst into as few posts as possible, of nearly equal length, none longer than ``size``."""
    if not items:
        return []
    posts = -(-len(items) // size)
    base, extra = divmod(len(items), posts)
    out, start = [], 0
    for index in range(posts):
        length = base + (1 if index < extra else 0)
        out.append(list(items[start : start + length]))
        start += length
    return out


def describe_criteria(criteria: TierCriteria) -> str:
    """Say what a tier asks for, in plain words."""
    parts = []
    if criteria.linked:
        parts.append("link your GitHub account")
    if criteria.starred:
        parts.append("star the repository")
    counted = (
        ("merged_prs", "merged pull request", "merged pull requests"),
        ("reviews", "review", "reviews"),
        ("merges", "merge of someone else's pull request", "merges of someone else's pull requests"),
        ("issues_closed", "closed issue", "closed issues"),
        ("kudos", "kudos received", "kudos received"),
        ("recognitions", "recognition", "recognitions"),
    )
    for name, one, many in counted:
        value = getattr(criteria, name)
        if value:
            parts.append(f"{value} {one if value == 1 else many}")
    text = ", ".join(parts) or "nothing more"
    if criteria.window is not None:
        text += f" within {criteria.window.days} days"
    return text


def next_step(ladder: LadderSettings) -> str | None:
    """Name the first tier a newcomer with one merged pull request has not reached yet, and what it asks."""
    if not ladder.enabled:
        return None
    for tier in ladder.tiers:
        c = tier.criteria
        reached = not c.starred and (c.merged_prs or 0) <= 1
        reached = reached and not any((c.reviews, c.merges, c.issues_closed, c.kudos, c.recognitions))
        if not reached:
            return f"**{escape_markdown(tier.name)}**: {describe_criteria(c)}"
    return None


def thank_you_dm(celebration: Celebration, step: str | None) -> OutMessage:
    """Render the direct message that thanks a linked author for their first merged pull request."""
    lines = [
        f"Thank you for your first merged pull request to {escape_markdown(celebration.repo)}: "
        f"{_link(celebration)}. It made a difference!"
    ]
    if step:
        lines.append(f"Next step on the ladder: {step}.")
    return OutMessage(content="\n".join(lines))
