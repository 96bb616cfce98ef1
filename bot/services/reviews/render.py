"""How the review queue looks in Discord: the nudge post, a reviewer's DM and the /reviews answer.

Plain data only (OutMessage, Reply, embed dicts): the service decides, the dispatcher and the cog post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.buttons import NudgeClick
from bot.i18n import ENGLISH, Lang
from bot.messages import Button, OutMessage, Reply, escape_markdown, mention, role_mention
from bot.services.reviews.models import QueueSnapshot, Reviewer, ReviewerGroup, WaitingReview, button_key

COLOR = 0x5865F2
DESCRIPTION_BUDGET = 3800  # Discord allows 4096 characters in an embed description; keep room for the tail line
GROUPS_PER_MESSAGE = 12  # two buttons per reviewer, at most 25 buttons on a message
TITLE_MAX = 80
#: "On it" names this many pull requests and counts the rest, so the answer always fits in one message
#: (a repository name can be 100 characters: 10 of them stay well within Discord's 2000).
ON_IT_LISTED = 10


def format_wait(waited: timedelta, speaker: Lang = ENGLISH) -> str:
    """Write a wait as "3d 4h", "5h 10m" or "12m"."""
    minutes = max(0, int(waited.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        if hours:
            return speaker.gettext("{days}d {hours}h", days=days, hours=hours)
        return speaker.gettext("{days}d", days=days)
    if hours:
        return (
            speaker.gettext("{hours}h {minutes}m", hours=hours, minutes=mins)
            if mins
            else speaker.gettext("{hours}h", hours=hours)
        )
    return speaker.gettext("{minutes}m", minutes=mins)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def row_text(
    item: WaitingReview,
    *,
    business: bool,
    approvals_needed: int,
    at: datetime | None = None,
    speaker: Lang = ENGLISH,
) -> str:
    """One pull request waiting on one reviewer; ``at`` adds snooze and "On it" marks (for /reviews)."""
    pull = item.pull
    parts = [f"[{pull.repo}#{pull.number}]({pull.url}) {escape_markdown(_short(pull.title, TITLE_MAX))}"]
    login = escape_markdown(pull.author_login)
    if pull.first_timer:
        parts.append(speaker.gettext("by {login} 🌱 **first-time contributor**", login=login))
    else:
        parts.append(speaker.gettext("by {login}", login=login))
    wait = format_wait(item.waited, speaker)
    if business:
        parts.append(speaker.gettext("waiting {wait} of working time", wait=wait))
    else:
        parts.append(speaker.gettext("waiting {wait}", wait=wait))
    parts.append(
        speaker.gettext("✅ {approvals}/{needed} approvals", approvals=pull.approvals, needed=approvals_needed)
    )
    if pull.changes_requested:
        count = pull.changes_requested
        parts.append(speaker.ngettext("✏️ {count} change request", "✏️ {count} change requests", count))
    if item.escalated:
        parts.append(speaker.gettext("⏰ escalated"))
    if at is not None and item.on_it_until is not None and item.on_it_until > at:
        parts.append(speaker.gettext("👀 on it"))
    elif at is not None and item.snoozed_until is not None and item.snoozed_until > at:
        parts.append(speaker.gettext("😴 snoozed"))
    return "• " + " · ".join(parts)


def heading(reviewer: Reviewer, at: datetime, speaker: Lang = ENGLISH) -> str:
    """Name a reviewer above their rows; an away reviewer is named, never mentioned."""
    name = escape_markdown(reviewer.name)
    if reviewer.kind == "team":
        if reviewer.role_id:
            return speaker.gettext("**Team {name}** {role}", name=name, role=role_mention(reviewer.role_id))
        return speaker.gettext("**Team {name}**", name=name)
    if reviewer.away(at) and reviewer.away_until is not None:
        return speaker.gettext("**{name}** · 🌴 away until {when}", name=name, when=when(reviewer.away_until))
    if reviewer.discord_id is not None:
        return f"{mention(reviewer.discord_id)} (**{name}**)"
    return speaker.gettext("**{name}** (not linked)", name=name)


@dataclass
class Layout:
    """The rows that fit in one embed, the groups they belong to, and how many were left out."""

    lines: list[str] = field(default_factory=list)
    groups: list[ReviewerGroup] = field(default_factory=list)
    left_out: int = 0


def layout(
    groups: Sequence[ReviewerGroup],
    *,
    max_rows: int,
    business: bool,
    approvals_needed: int,
    at: datetime,
    marks: bool = False,
    speaker: Lang = ENGLISH,
) -> Layout:
    """Fit groups into an embed description: at most ``max_rows`` rows and Discord's length limit."""
    result = Layout()
    length, rows, full = 0, 0, False
    for group in groups:
        lines = [heading(group.reviewer, at, speaker)]
        for item in group.items:
            marked = at if marks else None
            text = row_text(item, business=business, approvals_needed=approvals_needed, at=marked, speaker=speaker)
            extra = len(text) + 1 + (len(lines[0]) + 2 if len(lines) == 1 else 0)
            if full or rows >= max_rows or length + extra > DESCRIPTION_BUDGET:
                full = True
                result.left_out += 1
                continue
            lines.append(text)
            length += extra
            rows += 1
        if len(lines) > 1:
            result.lines += ([""] if result.lines else []) + lines
            result.groups.append(group)
    return result


def _embed(title: str, lay: Layout, footer: str, speaker: Lang = ENGLISH) -> dict[str, object]:
    lines = list(lay.lines)
    if lay.left_out:
        lines += ["", speaker.gettext("…and {count} more — see `/reviews`", count=lay.left_out)]
    return {"title": title, "description": "\n".join(lines), "color": COLOR, "footer": {"text": footer}}


def buttons_for(groups: Sequence[ReviewerGroup], speaker: Lang = ENGLISH) -> list[Button]:
    """Two buttons per reviewer: "Snooze 1 day" and "On it"."""
    buttons = []
    for group in groups:
        reviewer = group.reviewer
        name = reviewer.name if reviewer.kind == "user" else speaker.gettext("team {name}", name=reviewer.name)
        key = button_key(reviewer.key)
        snooze, on_it = (
            speaker.gettext("Snooze 1 day · {name}", name=name),
            speaker.gettext("On it · {name}", name=name),
        )
        buttons.append(Button(_short(snooze, 80), custom_id=NudgeClick("snooze", key).custom_id()))
        buttons.append(Button(_short(on_it, 80), custom_id=NudgeClick("onit", key).custom_id(), style="primary"))
    return buttons


def _summary(snapshot: QueueSnapshot, speaker: Lang = ENGLISH) -> str:
    oldest, count = snapshot.oldest, snapshot.count
    if oldest is None:
        return speaker.ngettext(
            "{count} pull request waiting for review", "{count} pull requests waiting for review", count
        )
    return speaker.ngettext(
        "{count} pull request waiting for review, the oldest for {wait}",
        "{count} pull requests waiting for review, the oldest for {wait}",
        count,
        wait=format_wait(oldest.waited, speaker),
    )


@dataclass(frozen=True)
class NudgePost:
    """The messages one nudge posts (the reminder, then any extra button messages) and who they mention."""

    messages: list[OutMessage]
    users: list[int]
    roles: list[int]
    rows: int


def _escalation(
    snapshot: QueueSnapshot, escalate_after: timedelta, maintainer_role_id: int | None, speaker: Lang = ENGLISH
) -> str | None:
    escalated = len({(item.pull.repo, item.pull.number) for item in snapshot.items if item.escalated})
    if not escalated:
        return None
    wait = format_wait(escalate_after, speaker)
    if maintainer_role_id:
        return speaker.ngettext(
            "⏰ {count} pull request waited over {wait} — {role}, can someone help?",
            "⏰ {count} pull requests waited over {wait} — {role}, can someone help?",
            escalated,
            wait=wait,
            role=role_mention(maintainer_role_id),
        )
    return speaker.ngettext(
        "⏰ {count} pull request waited over {wait} — maintainers, please help.",
        "⏰ {count} pull requests waited over {wait} — maintainers, please help.",
        escalated,
        wait=wait,
    )


def _button_messages(groups: Sequence[ReviewerGroup], speaker: Lang) -> list[tuple[Button, ...]]:
    """Split the reviewers' buttons into messages of at most 25 buttons each."""
    chunks = [groups[i : i + GROUPS_PER_MESSAGE] for i in range(0, len(groups), GROUPS_PER_MESSAGE)]
    return [tuple(buttons_for(chunk, speaker)) for chunk in chunks] or [()]


def nudge_post(
    snapshot: QueueSnapshot,
    *,
    max_rows: int,
    approvals_needed: int,
    escalate_after: timedelta,
    maintainer_role_id: int | None,
    speaker: Lang = ENGLISH,
) -> NudgePost:
    """Build the channel reminder for the rows due at a slot, in ``speaker``'s language."""
    at, business = snapshot.at, snapshot.business_time
    lay = layout(
        snapshot.groups(),
        max_rows=max_rows,
        business=business,
        approvals_needed=approvals_needed,
        at=at,
        speaker=speaker,
    )
    users = list(
        dict.fromkeys(g.reviewer.discord_id for g in lay.groups if g.reviewer.discord_id and not g.reviewer.away(at))
    )
    roles = list(dict.fromkeys(g.reviewer.role_id for g in lay.groups if g.reviewer.role_id))
    lines = [speaker.gettext("**Review reminder** — {summary}.", summary=_summary(snapshot, speaker))]
    if users or roles:
        who = " ".join([mention(user) for user in users] + [role_mention(r) for r in roles])
        lines.append(speaker.gettext("Waiting on {who}", who=who))
    escalation = _escalation(snapshot, escalate_after, maintainer_role_id, speaker)
    if escalation is not None:
        lines.append(escalation)
        if maintainer_role_id and maintainer_role_id not in roles:
            roles.append(maintainer_role_id)
    footer = speaker.gettext("Snooze 1 day hides a reviewer from the next reminder · /away for leave")
    embed = _embed(speaker.gettext("Waiting for review"), lay, footer, speaker)
    buttons = _button_messages(lay.groups, speaker)
    messages = [
        OutMessage(
            content="\n".join(lines),
            embeds=(embed,),
            buttons=buttons[0],
            mention_users=tuple(users),
            mention_roles=tuple(roles),
        )
    ]
    messages += [
        OutMessage(
            content=speaker.gettext(
                "More buttons for the review reminder above ({index} of {total}).", index=index, total=len(buttons)
            ),
            buttons=extra,
        )
        for index, extra in enumerate(buttons[1:], start=2)
    ]
    return NudgePost(messages, users, roles, len(snapshot.items) - lay.left_out)


def dm_message(
    group: ReviewerGroup,
    *,
    at: datetime,
    max_rows: int,
    business: bool,
    approvals_needed: int,
    speaker: Lang = ENGLISH,
) -> OutMessage:
    """A reviewer's own list, sent by direct message."""
    lay = layout(
        [group], max_rows=max_rows, business=business, approvals_needed=approvals_needed, at=at, speaker=speaker
    )
    count = len(group.items)
    title, footer = speaker.gettext("Waiting for your review"), speaker.gettext("Turn these off with /nudges dm:off")
    content = speaker.ngettext(
        "{count} pull request is waiting for your review.", "{count} pull requests are waiting for your review.", count
    )
    return OutMessage(
        content=content, embeds=(_embed(title, lay, footer, speaker),), buttons=tuple(buttons_for([group], speaker))
    )


def queue_reply(
    snapshot: QueueSnapshot,
    *,
    max_rows: int,
    approvals_needed: int,
    who: str | None = None,
    speaker: Lang = ENGLISH,
) -> Reply:
    """The /reviews answer: the same rows, with snooze and "On it" marks, shown to the caller only."""
    if not snapshot.items:
        if who:
            return Reply(
                content=speaker.gettext("No pull requests are waiting for review on {who} right now. 🎉", who=who)
            )
        return Reply(content=speaker.gettext("No pull requests are waiting for review right now. 🎉"))
    lay = layout(
        snapshot.groups(),
        max_rows=max_rows,
        business=snapshot.business_time,
        approvals_needed=approvals_needed,
        at=snapshot.at,
        marks=True,
        speaker=speaker,
    )
    title = speaker.gettext("Review queue for {who}", who=who) if who else speaker.gettext("Review queue")
    return Reply(embeds=[_embed(title, lay, _summary(snapshot, speaker), speaker)])


def when(moment: datetime) -> str:
    """A Discord timestamp, shown in each reader's own time zone."""
    return f"<t:{int(moment.timestamp())}:f>"


def snooze_text(name: str, until: datetime, speaker: Lang = ENGLISH) -> str:
    """Confirm a snooze."""
    return speaker.gettext(
        "😴 Snoozed **{name}** until {when}: the next reminder leaves them out.",
        name=escape_markdown(name),
        when=when(until),
    )


def on_it_text(name: str, pulls: Sequence[str], until: datetime, by: int | None, speaker: Lang = ENGLISH) -> str:
    """Announce an "On it" (or say there was nothing to acknowledge)."""
    if not pulls:
        return speaker.gettext("Nothing is waiting on **{name}** right now.", name=escape_markdown(name))
    shown = list(pulls[:ON_IT_LISTED])
    listed = ", ".join(shown)
    if len(pulls) > len(shown):
        listed = speaker.gettext("{listed} and {count} more", listed=", ".join(shown), count=len(pulls) - len(shown))
    values = {"name": escape_markdown(_short(name, 100)), "listed": listed, "when": when(until)}
    if by is not None:
        return speaker.ngettext(
            "👀 **{name}** is on it: {listed} (marked by {by}). No reminders about it until {when}.",
            "👀 **{name}** is on it: {listed} (marked by {by}). No reminders about them until {when}.",
            len(pulls),
            by=mention(by),
            **values,
        )
    return speaker.ngettext(
        "👀 **{name}** is on it: {listed}. No reminders about it until {when}.",
        "👀 **{name}** is on it: {listed}. No reminders about them until {when}.",
        len(pulls),
        **values,
    )


def away_text(until: datetime, linked: bool, speaker: Lang = ENGLISH) -> str:
    """Confirm /away."""
    if linked:
        return speaker.gettext(
            "🌴 You're away until {when}. Review reminders won't mention you (your rows still show, marked away). "
            "Use /back when you return.",
            when=when(until),
        )
    return speaker.gettext(
        "🌴 You're away until {when}. Review reminders won't mention you (your rows still show, marked away). "
        "Use /back when you return. Link your GitHub account with /link so reminders know which reviews are yours.",
        when=when(until),
    )


def back_text(was_away: bool, speaker: Lang = ENGLISH) -> str:
    """Confirm /back."""
    if was_away:
        return speaker.gettext("👋 Welcome back! Review reminders mention you again.")
    return speaker.gettext("You weren't marked away; review reminders mention you as usual.")


def dm_text(on: bool, linked: bool, speaker: Lang = ENGLISH) -> str:
    """Confirm /nudges dm."""
    if not on:
        return speaker.gettext(
            "Done: you won't get review reminders by direct message (the channel reminder still lists you)."
        )
    if linked:
        return speaker.gettext("Done: with each review reminder, you'll also get your own list by direct message.")
    return speaker.gettext(
        "Done: with each review reminder, you'll also get your own list by direct message. "
        "Link your GitHub account with /link first, so I know which reviews are yours."
    )
