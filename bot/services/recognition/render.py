"""Pure functions that turn celebrations into posts: one person per post, or a combined post for a burst."""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from bot.buttons import LinkClick
from bot.config.models import KudosSettings, LadderSettings, Settings, TierCriteria
from bot.i18n import ENGLISH, Lang
from bot.i18n.server import template_for
from bot.messages import Button, OutMessage, clean_text, escape_markdown, mention
from bot.services.ladder import rules
from bot.services.recognition.kinds import GREEN, kind_of
from bot.services.recognition.models import Celebration

log = logging.getLogger(__name__)

MAX_PER_POST = 10


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


def _words(celebration: Celebration, speaker: Lang) -> dict[str, str]:
    """The values a kind's msgids may use besides the post's links and names."""
    return {"count": speaker.number(celebration.count), "ordinal": speaker.ordinal(celebration.count)}


def headline(
    celebration: Celebration, settings: KudosSettings, speaker: Lang = ENGLISH, full: Settings | None = None
) -> str:
    """Return the text line that celebrates one person, in ``speaker``'s language."""
    values = _template_values(celebration)
    kind = kind_of(celebration)
    if kind.template is not None:
        configured = str(getattr(settings, kind.template.setting))
        template = template_for(full, speaker, kind.template.key, configured) if full is not None else configured
        return fill(template, values, speaker.gettext(kind.headline))
    return speaker.gettext(kind.headline, author=values["author"], repo=values["repo"])


def label(celebration: Celebration, speaker: Lang = ENGLISH) -> str:
    """Say in a few words what is celebrated."""
    return speaker.gettext(kind_of(celebration).label, **_words(celebration, speaker))


def _link(celebration: Celebration) -> str:
    title = escape_markdown(_cut(celebration.title or f"#{celebration.number}", 120))
    return f"[{title}]({celebration.url})" if celebration.url else title


def detail_line(celebration: Celebration, speaker: Lang = ENGLISH, *, titled: bool = False) -> str:
    """Describe the pull request, review or issue behind a celebration in one line.

    ``titled``: the embed's title already shows and links the pull request or issue, so the line does not
    repeat it.
    """
    values = {"repo": escape_markdown(celebration.repo), "link": _link(celebration)}
    values["merged_by"] = (
        escape_markdown(celebration.merged_by) if celebration.merged_by else speaker.gettext("a maintainer")
    )
    values["other"] = escape_markdown(celebration.other) if celebration.other else speaker.gettext("a contributor")
    kind = kind_of(celebration)
    return speaker.gettext(kind.titled if titled else kind.detail, **values)


def profile_url(celebration: Celebration) -> str | None:
    """Return the person's GitHub profile URL, on the same host as the pull request."""
    parts = urlsplit(celebration.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/{celebration.login}"


def _embed(celebration: Celebration, speaker: Lang) -> dict[str, object]:
    author: dict[str, object] = {"name": _cut(clean_text(celebration.login), 256)}
    if (url := profile_url(celebration)) is not None:
        author["url"] = url
    if celebration.avatar_url:
        author["icon_url"] = celebration.avatar_url
    kind = kind_of(celebration)
    footer = speaker.gettext(kind.footer, **_words(celebration, speaker))
    embed: dict[str, object] = {
        "author": author,
        "title": _cut(escape_markdown(celebration.title or f"{celebration.repo}#{celebration.number}"), 256),
        "description": detail_line(celebration, speaker, titled=True),
        "color": kind.colour,
        "footer": {"text": footer},
    }
    if celebration.url:
        embed["url"] = celebration.url
    if celebration.avatar_url:
        embed["thumbnail"] = {"url": celebration.avatar_url}
    if celebration.at:
        embed["timestamp"] = celebration.at
    return embed


def claim_button(celebration: Celebration, named: bool, speaker: Lang = ENGLISH) -> Button:
    """Return the "This is me" button an unlinked person clicks to link their account."""
    login = celebration.login
    text = speaker.gettext("This is me: {login}", login=login) if named else speaker.gettext("This is me")
    return Button(_cut(text, 80), custom_id=LinkClick(celebration.github_id).custom_id(), style="primary")


def _buttons(items: Sequence[Celebration], named: bool, speaker: Lang) -> tuple[Button, ...]:
    seen: dict[int, Button] = {}
    for item in items:
        if item.shown_discord_id is None and item.github_id not in seen:
            seen[item.github_id] = claim_button(item, named, speaker)
    return tuple(seen.values())[:25]


def _mentions(items: Sequence[Celebration]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(i.shown_discord_id for i in items if i.shown_discord_id is not None))


def single_post(
    celebration: Celebration, settings: KudosSettings, speaker: Lang = ENGLISH, full: Settings | None = None
) -> OutMessage:
    """Render the post that celebrates one person."""
    return OutMessage(
        content=_cut(headline(celebration, settings, speaker, full), 2000),
        embeds=(_embed(celebration, speaker),),
        buttons=_buttons([celebration], False, speaker),
        mention_users=_mentions([celebration]),
    )


def combined_post(items: Sequence[Celebration], speaker: Lang = ENGLISH) -> OutMessage:
    """Render one post that celebrates several people at once (a burst)."""
    fields = [
        {
            "name": _cut(f"{item.login} · {label(item, speaker)}", 256),
            "value": _cut(detail_line(item, speaker), 1024),
            "inline": False,
        }
        for item in items
    ]
    embed = {
        "title": speaker.gettext("A round of thanks"),
        "description": speaker.ngettext(
            "{count} celebration at once. Welcome, and thank you all!",
            "{count} celebrations at once. Welcome, and thank you all!",
            len(items),
        ),
        "color": GREEN,
        "fields": fields,
    }
    names = speaker.join(list(dict.fromkeys(who(item) for item in items)))
    return OutMessage(
        content=_cut(speaker.gettext("🎉 Kudos to {names}!", names=names), 2000),
        embeds=(embed,),
        buttons=_buttons(items, True, speaker),
        mention_users=_mentions(items),
    )


def post(
    items: Sequence[Celebration],
    settings: KudosSettings,
    combined: bool,
    speaker: Lang = ENGLISH,
    full: Settings | None = None,
) -> OutMessage:
    """Render a celebration post, single or combined, in ``speaker``'s language."""
    if combined or len(items) > 1:
        return combined_post(items, speaker)
    return single_post(items[0], settings, speaker, full)


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


def describe_criteria(criteria: TierCriteria, speaker: Lang = ENGLISH) -> str:
    """Say what a tier asks for, in plain words, as /rank and the approval request say it."""
    return rules.describe_criteria(criteria, speaker)


def next_step(ladder: LadderSettings, speaker: Lang = ENGLISH) -> str | None:
    """Name the first tier a newcomer with one merged pull request has not reached yet, and what it asks."""
    if not ladder.enabled:
        return None
    for tier in ladder.tiers:
        c = tier.criteria
        reached = not c.starred and (c.merged_prs or 0) <= 1
        reached = reached and not any((c.reviews, c.merges, c.issues_closed, c.kudos, c.recognitions))
        if not reached:
            return f"**{escape_markdown(tier.name)}**: {describe_criteria(c, speaker)}"
    return None


def thank_you_dm(celebration: Celebration, step: str | None, speaker: Lang = ENGLISH) -> OutMessage:
    """Render the direct message that thanks a linked author for their first merged pull request."""
    lines = [
        speaker.gettext(
            "Thank you for your first merged pull request to {repo}: {link}. It made a difference!",
            repo=escape_markdown(celebration.repo),
            link=_link(celebration),
        )
    ]
    if step:
        lines.append(speaker.gettext("Next step on the ladder: {step}.", step=step))
    return OutMessage(content="\n".join(lines))
