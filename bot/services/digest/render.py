"""Turn a digest's data into the post: a short text naming new contributors, one embed, the chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.models import DigestSettings
from bot.messages import Attachment, OutMessage, escape_markdown, mention
from bot.services.digest.model import DigestData, Ranked, Ref, Who
from bot.services.digest.periods import Period

CHART_FILE = "vestry-digest.png"
COLOR = 0x5865F2
FIELD_LIMIT = 1024


def unit_of(period: Period) -> str:
    """Name the period for people: a week, a day, or just a period."""
    if period.length == timedelta(days=7):
        return "week"
    if period.length == timedelta(days=1):
        return "day"
    return "period"


def span_text(period: Period, zone: str) -> str:
    """Write a period's dates the short way, e.g. "4 Jan – 11 Jan 2030"."""
    tz = ZoneInfo(zone)
    start, end = period.start.astimezone(tz), period.end.astimezone(tz)
    return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"


def duration_text(value: timedelta) -> str:
    """Write a wait the way people say it: "42 min", "5 h 20 min", "2 d 3 h"."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def name(who: Who) -> str:
    """Show a person: the linked member, or their GitHub login."""
    return mention(who.discord_id) if who.discord_id is not None else f"**{escape_markdown(who.login)}**"


def plural(count: int, word: str, many: str | None = None) -> str:
    """Write a count with its noun: "1 PR", "2 PRs"."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def people(names: list[str]) -> str:
    """Join names the way a sentence does: "a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def link(ref: Ref, *, in_text: bool = False) -> str:
    """Link a pull request or issue by its short repository name, number and title."""
    title = escape_markdown(ref.title[:80])
    label = f"{escape_markdown(ref.repo.split('/')[-1])}#{ref.number} · {title}"
    if not ref.url:
        return label
    # In message text, <url> keeps Discord from unfurling every link; embeds never unfurl.
    return f"[{label}](<{ref.url}>)" if in_text else f"[{label}]({ref.url})"


def ranking(rows: list[Ranked], word: str | None = None) -> str:
    """Write a top list on one line."""
    return " · ".join(f"{name(row.who)} ({plural(row.count, word) if word else row.count})" for row in rows)


def change_text(now: int, before: int, unit: str) -> str:
    """Say how a count changed from the period before."""
    if now == before:
        return f"same as the {unit} before"
    arrow = "▲" if now > before else "▼"
    return f"{arrow} {abs(now - before)} from the {unit} before"


def render_digest(data: DigestData, settings: DigestSettings, chart: bytes | None) -> OutMessage | None:
    """Build the post for a digest; a quiet period gets a short note, or nothing when set to skip."""
    sections = list(settings.sections)
    if not data.activity(sections):
        return None if settings.quiet_week == "skip" else render_quiet(data, settings)
    unit = unit_of(data.period)
    heading = "so far" if data.in_progress else span_text(data.period, settings.timezone)
    lines = [f"📜 **This {unit} in the vestry** · {heading}"]
    mentioned: list[int] = []
    if "new_contributors" in sections and data.new_contributors:
        newcomers = people([name(who) for who in data.new_contributors])
        lines.append(
            f"🎉 Welcome to our new contributors: {newcomers}! Your first pull requests were merged. Thank you!"
            if len(data.new_contributors) > 1
            else f"🎉 Welcome to our new contributor {newcomers}! Your first pull request was merged. Thank you!"
        )
        if settings.mention_new_contributors:
            mentioned = [who.discord_id for who in data.new_contributors if who.discord_id is not None]
    fields = []
    for section in sections:
        builder = _FIELDS.get(section)
        field = builder(data, unit) if builder else None
        if field is not None:
            fields.append({"name": field[0], "value": _clip(field[1]), "inline": False})
    embed: dict[str, Any] = {
        "title": f"Digest · {span_text(data.period, settings.timezone)}",
        "color": COLOR,
        "fields": fields,
        "footer": {"text": f"From GitHub activity {_window(data.period, settings.timezone)}"},
        "timestamp": data.period.end.isoformat() if not data.in_progress else data.now.isoformat(),
    }
    files: tuple[Attachment, ...] = ()
    if chart is not None:
        embed["image"] = {"url": f"attachment://{CHART_FILE}"}
        files = (Attachment(CHART_FILE, chart, "image/png"),)
    return OutMessage(content="\n".join(lines), embeds=(embed,), files=files, mention_users=tuple(mentioned))


def render_quiet(data: DigestData, settings: DigestSettings) -> OutMessage:
    """Build the short, friendly post of a period in which nothing happened."""
    unit = unit_of(data.period)
    lines = [
        f"📜 **A quiet {unit} in the vestry** ({span_text(data.period, settings.timezone)}): no merges, reviews "
        f"or new stars this time. Rest is part of the rhythm too. 🌿"
    ]
    if "good_first_issues" in settings.sections and data.good_first_issues:
        lines.append("Looking for a way in? These good first issues are waiting:")
        lines.extend(f"• {link(ref, in_text=True)}" for ref in data.good_first_issues)
    return OutMessage(content="\n".join(lines)[:2000])


def _merges(data: DigestData, unit: str) -> tuple[str, str]:
    text = f"**{data.merged}** merged ({change_text(data.merged, data.merged_before, unit)})"
    if data.top_mergers:
        text += f"\nTop mergers: {ranking(data.top_mergers)}"
    return "🔀 Pull requests", text


def _reviewers(data: DigestData, unit: str) -> tuple[str, str] | None:
    if not data.reviews:
        return None
    prs = "PR" if data.reviewed_prs == 1 else "PRs"
    reviews = "review" if data.reviews == 1 else "reviews"
    text = f"**{data.reviews}** {reviews} of **{data.reviewed_prs}** {prs}"
    if data.top_reviewers:
        text += f"\nTop reviewers: {ranking(data.top_reviewers, 'PR')}"
    return "👀 Reviews", text


def _issues(data: DigestData, unit: str) -> tuple[str, str] | None:
    if not data.issues_closed:
        return None
    text = f"**{data.issues_closed}** closed"
    if data.top_closers:
        text += f"\nTop closers: {ranking(data.top_closers)}"
    return "✅ Issues", text


def _stars(data: DigestData, unit: str) -> tuple[str, str] | None:
    if not data.stars_gained:
        return None
    return "⭐ Stars", f"**+{data.stars_gained}** this {unit} · **{data.stars_total}** in total"


def _promotions(data: DigestData, unit: str) -> tuple[str, str] | None:
    if not data.promotions:
        return None
    lines = [f"{mention(p.discord_id)} → **{escape_markdown(p.tier)}**" for p in data.promotions]
    return "🪜 Promotions", "\n".join(lines)


def _kudos(data: DigestData, unit: str) -> tuple[str, str] | None:
    if not data.kudos and not data.recognitions:
        return None
    recognitions = "recognition" if data.recognitions == 1 else "recognitions"
    return "💌 Thanks given", f"**{data.kudos}** kudos and **{data.recognitions}** {recognitions}"


def _health(data: DigestData, unit: str) -> tuple[str, str]:
    health = data.health
    if health.oldest is not None:
        waited = duration_text(data.now - health.oldest.since)
        lines = [
            f"**1** PR waiting for review now: {link(health.oldest.ref)}, for {waited}"
            if health.waiting == 1
            else f"**{health.waiting}** PRs waiting for review now; the oldest: {link(health.oldest.ref)}, for {waited}"
        ]
    else:
        lines = ["No pull request is waiting for review right now."]
    if health.first_review is not None:
        still = f"; {health.unanswered} more without a review" if health.unanswered else ""
        lines.append(
            f"Median time to first review: **{duration_text(health.first_review)}** "
            f"(over {plural(health.first_review_sample, 'reviewed PR')} opened this {unit}{still})"
        )
    elif health.unanswered:
        lines.append(f"No review yet for the {plural(health.unanswered, 'PR')} opened this {unit}.")
    if health.newcomer_first_review is not None:
        lines.append(
            f"For first-time contributors: **{duration_text(health.newcomer_first_review)}** "
            f"(over {plural(health.newcomer_sample, 'PR')})"
        )
    return "🩺 Review health", "\n".join(lines)


def _good_first_issues(data: DigestData, unit: str) -> tuple[str, str] | None:
    if not data.good_first_issues:
        return None
    return "🌱 Good first issues", "\n".join(f"• {link(ref)}" for ref in data.good_first_issues)


_FIELDS: dict[str, Callable[[DigestData, str], tuple[str, str] | None]] = {
    "merges": _merges,
    "reviewers": _reviewers,
    "issues": _issues,
    "stars": _stars,
    "promotions": _promotions,
    "kudos": _kudos,
    "health": _health,
    "good_first_issues": _good_first_issues,
}


def _clip(text: str) -> str:
    if len(text) <= FIELD_LIMIT:
        return text
    cut = text[: FIELD_LIMIT - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def _window(period: Period, zone: str) -> str:
    tz = ZoneInfo(zone)
    return f"{_stamp(period.start, tz)} to {_stamp(period.end, tz)} ({zone})"


def _stamp(when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    return f"{local.day} {local:%b %H:%M}"
