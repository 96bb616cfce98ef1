"""How the review queue looks in Discord: the nudge post, a reviewer's DM and the /reviews answer.

Plain data only (OutMessage, Reply, embed dicts): the service decides, the dispatcher and the cog post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.messages import Button, OutMessage, Reply, escape_markdown, mention, role_mention
from bot.services.reviews.models import QueueSnapshot, Reviewer, ReviewerGroup, WaitingReview, button_key

COLOR = 0x5865F2
DESCRIPTION_BUDGET = 3800  # Discord allows 4096 characters in an embed description; keep room for the tail line
GROUPS_PER_MESSAGE = 12  # two buttons per reviewer, at most 25 buttons on a message
TITLE_MAX = 80
BUTTON_PREFIX = "nudge"
#: "On it" names this many pull requests and counts the rest, so the answer always fits in one message
#: (a repository name can be 100 characters: 10 of them stay well within Discord's 2000).
ON_IT_LISTED = 10


def format_wait(waited: timedelta) -> str:
    """Write a wait as "3d 4h", "5h 10m" or "12m"."""
    minutes = max(0, int(waited.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def row_text(item: WaitingReview, *, business: bool, approvals_needed: int, at: datetime | None = None) -> str:
    """One pull request waiting on one reviewer; ``at`` adds snooze and "On it" marks (for /reviews)."""
    pull = item.pull
    parts = [f"[{pull.repo}#{pull.number}]({pull.url}) {escape_markdown(_short(pull.title, TITLE_MAX))}"]
    author = f"by {escape_markdown(pull.author_login)}"
    if pull.first_timer:
        author += " 🌱 **first-time contributor**"
    parts.append(author)
    parts.append(f"waiting {format_wait(item.waited)}" + (" of working time" if business else ""))
    parts.append(f"✅ {pull.approvals}/{approvals_needed} approvals")
    if pull.changes_requested:
        parts.append(f"✏️ {_plural(pull.changes_requested, 'change request')}")
    if item.escalated:
        parts.append("⏰ escalated")
    if at is not None and item.on_it_until is not None and item.on_it_until > at:
        parts.append("👀 on it")
    elif at is not None and item.snoozed_until is not None and item.snoozed_until > at:
        parts.append("😴 snoozed")
    return "• " + " · ".join(parts)


def heading(reviewer: Reviewer, at: datetime) -> str:
    """Name a reviewer above their rows; an away reviewer is named, never mentioned."""
    name = escape_markdown(reviewer.name)
    if reviewer.kind == "team":
        return f"**Team {name}**" + (f" {role_mention(reviewer.role_id)}" if reviewer.role_id else "")
    if reviewer.away(at) and reviewer.away_until is not None:
        return f"**{name}** · 🌴 away until {when(reviewer.away_until)}"
    if reviewer.discord_id is not None:
        return f"{mention(reviewer.discord_id)} (**{name}**)"
    return f"**{name}** (not linked)"


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
) -> Layout:
    """Fit groups into an embed description: at most ``max_rows`` rows and Discord's length limit."""
    result = Layout()
    length, rows, full = 0, 0, False
    for group in groups:
        lines = [heading(group.reviewer, at)]
        for item in group.items:
            text = row_text(item, business=business, approvals_needed=approvals_needed, at=at if marks else None)
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


def _embed(title: str, lay: Layout, footer: str) -> dict[str, object]:
    lines = list(lay.lines)
    if lay.left_out:
        lines += ["", f"…and {lay.left_out} more — see `/reviews`"]
    return {"title": title, "description": "\n".join(lines), "color": COLOR, "footer": {"text": footer}}


def buttons_for(groups: Sequence[ReviewerGroup]) -> list[Button]:
    """Two buttons per reviewer: "Snooze 1 day" and "On it"."""
    buttons = []
    for group in groups:
        name = group.reviewer.name if group.reviewer.kind == "user" else f"team {group.reviewer.name}"
        key = button_key(group.reviewer.key)
        buttons.append(Button(_short(f"Snooze 1 day · {name}", 80), custom_id=f"{BUTTON_PREFIX}:snooze:{key}"))
        buttons.append(Button(_short(f"On it · {name}", 80), custom_id=f"{BUTTON_PREFIX}:onit:{key}", style="primary"))
    return buttons


def _summary(snapshot: QueueSnapshot) -> str:
    oldest = snapshot.oldest
    tail = f", the oldest for {format_wait(oldest.waited)}" if oldest else ""
    return f"{_plural(snapshot.count, 'pull request')} waiting for review{tail}"


@dataclass(frozen=True)
class NudgePost:
    """The messages one nudge posts (the reminder, then any extra button messages) and who they mention."""

    messages: list[OutMessage]
    users: list[int]
    roles: list[int]
    rows: int


def _escalation(snapshot: QueueSnapshot, escalate_after: timedelta, maintainer_role_id: int | None) -> str | None:
    escalated = len({(item.pull.repo, item.pull.number) for item in snapshot.items if item.escalated})
    if not escalated:
        return None
    who = (
        f"{role_mention(maintainer_role_id)}, can someone help?" if maintainer_role_id else "maintainers, please help."
    )
    return f"⏰ {_plural(escalated, 'pull request')} waited over {format_wait(escalate_after)} — {who}"


def _button_messages(groups: Sequence[ReviewerGroup]) -> list[tuple[Button, ...]]:
    """Split the reviewers' buttons into messages of at most 25 buttons each."""
    chunks = [groups[i : i + GROUPS_PER_MESSAGE] for i in range(0, len(groups), GROUPS_PER_MESSAGE)]
    return [tuple(buttons_for(chunk)) for chunk in chunks] or [()]


def nudge_post(
    snapshot: QueueSnapshot,
    *,
    max_rows: int,
    approvals_needed: int,
    escalate_after: timedelta,
    maintainer_role_id: int | None,
) -> NudgePost:
    """Build the channel reminder for the rows due at a slot."""
    at = snapshot.at
    lay = layout(
        snapshot.groups(), max_rows=max_rows, business=snapshot.business_time, approvals_needed=approvals_needed, at=at
    )
    users = list(
        dict.fromkeys(g.reviewer.discord_id for g in lay.groups if g.reviewer.discord_id and not g.reviewer.away(at))
    )
    roles = list(dict.fromkeys(g.reviewer.role_id for g in lay.groups if g.reviewer.role_id))
    lines = [f"**Review reminder** — {_summary(snapshot)}."]
    if users or roles:
        lines.append("Waiting on " + " ".join([mention(user) for user in users] + [role_mention(r) for r in roles]))
    escalation = _escalation(snapshot, escalate_after, maintainer_role_id)
    if escalation is not None:
        lines.append(escalation)
        if maintainer_role_id and maintainer_role_id not in roles:
            roles.append(maintainer_role_id)
    embed = _embed("Waiting for review", lay, "Snooze 1 day hides a reviewer from the next reminder · /away for leave")
    buttons = _button_messages(lay.groups)
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
        OutMessage(content=f"More buttons for the review reminder above ({index} of {len(buttons)}).", buttons=extra)
        for index, extra in enumerate(buttons[1:], start=2)
    ]
    return NudgePost(messages, users, roles, len(snapshot.items) - lay.left_out)


def dm_message(
    group: ReviewerGroup, *, at: datetime, max_rows: int, business: bool, approvals_needed: int
) -> OutMessage:
    """A reviewer's own list, sent by direct message."""
    lay = layout([group], max_rows=max_rows, business=business, approvals_needed=approvals_needed, at=at)
    count = len(group.items)
    embed = _embed("Waiting for your review", lay, "Turn these off with /nudges dm:off")
    content = f"{_plural(count, 'pull request')} {'is' if count == 1 else 'are'} waiting for your review."
    return OutMessage(content=content, embeds=(embed,), buttons=tuple(buttons_for([group])))


def queue_reply(snapshot: QueueSnapshot, *, max_rows: int, approvals_needed: int, who: str | None = None) -> Reply:
    """The /reviews answer: the same rows, with snooze and "On it" marks, shown to the caller only."""
    if not snapshot.items:
        target = f" on {who}" if who else ""
        return Reply(content=f"No pull requests are waiting for review{target} right now. 🎉")
    lay = layout(
        snapshot.groups(),
        max_rows=max_rows,
        business=snapshot.business_time,
        approvals_needed=approvals_needed,
        at=snapshot.at,
        marks=True,
    )
    title = f"Review queue for {who}" if who else "Review queue"
    return Reply(embeds=[_embed(title, lay, _summary(snapshot))])


def when(moment: datetime) -> str:
    """A Discord timestamp, shown in each reader's own time zone."""
    return f"<t:{int(moment.timestamp())}:f>"


def snooze_text(name: str, until: datetime) -> str:
    """Confirm a snooze."""
    return f"😴 Snoozed **{escape_markdown(name)}** until {when(until)}: the next reminder leaves them out."


def on_it_text(name: str, pulls: Sequence[str], until: datetime, by: int | None) -> str:
    """Announce an "On it" (or say there was nothing to acknowledge)."""
    if not pulls:
        return f"Nothing is waiting on **{escape_markdown(name)}** right now."
    marked = f" (marked by {mention(by)})" if by is not None else ""
    shown = list(pulls[:ON_IT_LISTED])
    listed = ", ".join(shown) + (f" and {len(pulls) - len(shown)} more" if len(pulls) > len(shown) else "")
    return (
        f"👀 **{escape_markdown(_short(name, 100))}** is on it: {listed}{marked}. "
        f"No reminders about {'it' if len(pulls) == 1 else 'them'} until {when(until)}."
    )


def away_text(until: datetime, linked: bool) -> str:
    """Confirm /away."""
    text = (
        f"🌴 You're away until {when(until)}. Review reminders won't mention you (your rows still show, "
        "marked away). Use /back when you return."
    )
    if not linked:
        text += " Link your GitHub account with /link so reminders know which reviews are yours."
    return text


def back_text(was_away: bool) -> str:
    """Confirm /back."""
    if was_away:
        return "👋 Welcome back! Review reminders mention you again."
    return "You weren't marked away; review reminders mention you as usual."


def dm_text(on: bool, linked: bool) -> str:
    """Confirm /nudges dm."""
    if not on:
        return "Done: you won't get review reminders by direct message (the channel reminder still lists you)."
    text = "Done: with each review reminder, you'll also get your own list by direct message."
    if not linked:
        text += " Link your GitHub account with /link first, so I know which reviews are yours."
    return text
