"""Turn a digest's data into the post, in the channel's language: a text naming newcomers, one embed, the chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.models import DigestSettings
from bot.i18n import ENGLISH, N_, Lang
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


def _per_unit(speaker: Lang, unit: str, week: str, day: str, other: str, **values: Any) -> str:
    """Choose the sentence written for the unit (whole sentences: "this" agrees with the noun in many languages)."""
    chosen = week if unit == "week" else day if unit == "day" else other
    return speaker.gettext(chosen, **values)


def _date(when: datetime, pattern: str, speaker: Lang) -> str:
    """Format a moment with a translated LDML pattern (``speaker.pgettext("date pattern", ...)``)."""
    return speaker.moment(when, pattern)


def span_text(period: Period, zone: str, speaker: Lang = ENGLISH) -> str:
    """Write a period's dates the short way, e.g. "4 Jan – 11 Jan 2030" ("4. Jan. – 11. Jan. 2030")."""
    tz = ZoneInfo(zone)
    start, end = period.start.astimezone(tz), period.end.astimezone(tz)
    day, day_and_year = speaker.pgettext("date pattern", "d MMM"), speaker.pgettext("date pattern", "d MMM y")
    return f"{_date(start, day, speaker)} – {_date(end, day_and_year, speaker)}"


def duration_text(value: timedelta, speaker: Lang = ENGLISH) -> str:
    """Write a wait the way people say it: "42 min", "5 h 20 min", "2 d 3 h"."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return speaker.gettext("{minutes} min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return speaker.gettext("{hours} h {minutes} min", hours=hours, minutes=minutes)
        return speaker.gettext("{hours} h", hours=hours)
    days, hours = divmod(hours, 24)
    return (
        speaker.gettext("{days} d {hours} h", days=days, hours=hours)
        if hours
        else speaker.gettext("{days} d", days=days)
    )


def name(who: Who) -> str:
    """Show a person: the linked member, or their GitHub login."""
    return mention(who.discord_id) if who.discord_id is not None else f"**{escape_markdown(who.login)}**"


def link(ref: Ref, *, in_text: bool = False) -> str:
    """Link a pull request or issue by its short repository name, number and title."""
    title = escape_markdown(ref.title[:80])
    label = f"{escape_markdown(ref.repo.split('/')[-1])}#{ref.number} · {title}"
    if not ref.url:
        return label
    # In message text, <url> keeps Discord from unfurling every link; embeds never unfurl.
    return f"[{label}](<{ref.url}>)" if in_text else f"[{label}]({ref.url})"


def ranking(rows: list[Ranked], speaker: Lang, prs: bool = False) -> str:
    """Write a top list on one line."""

    def count(row: Ranked) -> str:
        return speaker.ngettext("{count} PR", "{count} PRs", row.count) if prs else speaker.number(row.count)

    return " · ".join(f"{name(row.who)} ({count(row)})" for row in rows)


def change_text(now: int, before: int, unit: str, speaker: Lang = ENGLISH) -> str:
    """Say how a count changed from the period before."""
    if now == before:
        return _per_unit(
            speaker, unit, N_("same as the week before"), N_("same as the day before"), N_("same as the period before")
        )
    values = {"arrow": "▲" if now > before else "▼", "count": speaker.number(abs(now - before))}
    return _per_unit(
        speaker,
        unit,
        N_("{arrow} {count} from the week before"),
        N_("{arrow} {count} from the day before"),
        N_("{arrow} {count} from the period before"),
        **values,
    )


def render_digest(
    data: DigestData, settings: DigestSettings, chart: bytes | None, speaker: Lang = ENGLISH
) -> OutMessage | None:
    """Build the post for a digest; a quiet period gets a short note, or nothing when set to skip."""
    sections = list(settings.sections)
    if not data.activity(sections):
        return None if settings.quiet_week == "skip" else render_quiet(data, settings, speaker)
    unit, span = unit_of(data.period), span_text(data.period, settings.timezone, speaker)
    when = speaker.gettext("so far") if data.in_progress else span
    heading = _per_unit(
        speaker,
        unit,
        N_("📜 **This week in the vestry** · {when}"),
        N_("📜 **This day in the vestry** · {when}"),
        N_("📜 **This period in the vestry** · {when}"),
        when=when,
    )
    lines = [heading]
    mentioned: list[int] = []
    if "new_contributors" in sections and data.new_contributors:
        newcomers = speaker.join([name(who) for who in data.new_contributors])
        lines.append(
            speaker.ngettext(
                "🎉 Welcome to our new contributor {names}! Your first pull request was merged. Thank you!",
                "🎉 Welcome to our new contributors: {names}! Your first pull requests were merged. Thank you!",
                len(data.new_contributors),
                names=newcomers,
            )
        )
        if settings.mention_new_contributors:
            mentioned = [who.discord_id for who in data.new_contributors if who.discord_id is not None]
    fields = []
    for section in sections:
        builder = _FIELDS.get(section)
        field = builder(data, unit, speaker) if builder else None
        if field is not None:
            fields.append({"name": field[0], "value": _clip(field[1]), "inline": False})
    embed: dict[str, Any] = {
        "title": speaker.gettext("Digest · {span}", span=span),
        "color": COLOR,
        "fields": fields,
        "footer": {"text": _window(data.period, settings.timezone, speaker)},
        "timestamp": data.period.end.isoformat() if not data.in_progress else data.now.isoformat(),
    }
    files: tuple[Attachment, ...] = ()
    if chart is not None:
        embed["image"] = {"url": f"attachment://{CHART_FILE}"}
        files = (Attachment(CHART_FILE, chart, "image/png"),)
    return OutMessage(content="\n".join(lines), embeds=(embed,), files=files, mention_users=tuple(mentioned))


def render_quiet(data: DigestData, settings: DigestSettings, speaker: Lang = ENGLISH) -> OutMessage:
    """Build the short, friendly post of a period in which nothing happened."""
    span = span_text(data.period, settings.timezone, speaker)
    lines = [
        _per_unit(
            speaker,
            unit_of(data.period),
            N_(
                "📜 **A quiet week in the vestry** ({span}): no merges, reviews or new stars this time. "
                "Rest is part of the rhythm too. 🌿"
            ),
            N_(
                "📜 **A quiet day in the vestry** ({span}): no merges, reviews or new stars this time. "
                "Rest is part of the rhythm too. 🌿"
            ),
            N_(
                "📜 **A quiet period in the vestry** ({span}): no merges, reviews or new stars this time. "
                "Rest is part of the rhythm too. 🌿"
            ),
            span=span,
        )
    ]
    if "good_first_issues" in settings.sections and data.good_first_issues:
        lines.append(speaker.gettext("Looking for a way in? These good first issues are waiting:"))
        lines.extend(f"• {link(ref, in_text=True)}" for ref in data.good_first_issues)
    return OutMessage(content="\n".join(lines)[:2000])


def _merges(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str]:
    change = change_text(data.merged, data.merged_before, unit, speaker)
    text = speaker.ngettext(
        "**{count}** merged ({change})", "**{count}** merged ({change})", data.merged, change=change
    )
    if data.top_mergers:
        text += "\n" + speaker.gettext("Top mergers: {ranking}", ranking=ranking(data.top_mergers, speaker))
    return speaker.gettext("🔀 Pull requests"), text


def _reviewers(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str] | None:
    if not data.reviews:
        return None
    prs = speaker.ngettext("**{count}** PR", "**{count}** PRs", data.reviewed_prs)
    text = speaker.ngettext("**{count}** review of {prs}", "**{count}** reviews of {prs}", data.reviews, prs=prs)
    if data.top_reviewers:
        top = ranking(data.top_reviewers, speaker, prs=True)
        text += "\n" + speaker.gettext("Top reviewers: {ranking}", ranking=top)
    return speaker.gettext("👀 Reviews"), text


def _issues(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str] | None:
    if not data.issues_closed:
        return None
    text = speaker.ngettext("**{count}** closed", "**{count}** closed", data.issues_closed)
    if data.top_closers:
        text += "\n" + speaker.gettext("Top closers: {ranking}", ranking=ranking(data.top_closers, speaker))
    return speaker.gettext("✅ Issues"), text


def _stars(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str] | None:
    if not data.stars_gained:
        return None
    values = {"gained": speaker.number(data.stars_gained), "total": speaker.number(data.stars_total)}
    text = _per_unit(
        speaker,
        unit,
        N_("**+{gained}** this week · **{total}** in total"),
        N_("**+{gained}** today · **{total}** in total"),
        N_("**+{gained}** this period · **{total}** in total"),
        **values,
    )
    return speaker.gettext("⭐ Stars"), text


def _promotions(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str] | None:
    if not data.promotions:
        return None
    lines = [f"{mention(p.discord_id)} → **{escape_markdown(p.tier)}**" for p in data.promotions]
    return speaker.gettext("🪜 Promotions"), "\n".join(lines)


def _kudos(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str] | None:
    if not data.kudos and not data.recognitions:
        return None
    kudos = speaker.ngettext("**{count}** kudos", "**{count}** kudos", data.kudos)
    recognitions = speaker.ngettext("**{count}** recognition", "**{count}** recognitions", data.recognitions)
    return speaker.gettext("💌 Thanks given"), speaker.join([kudos, recognitions])


def _health(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str]:
    health = data.health
    if health.oldest is not None:
        lines = [
            speaker.ngettext(
                "**{count}** PR waiting for review now: {oldest}, for {waited}",
                "**{count}** PRs waiting for review now; the oldest: {oldest}, for {waited}",
                health.waiting,
                oldest=link(health.oldest.ref),
                waited=duration_text(data.now - health.oldest.since, speaker),
            )
        ]
    else:
        lines = [speaker.gettext("No pull request is waiting for review right now.")]
    if health.first_review is not None:
        median = duration_text(health.first_review, speaker)
        sample = health.first_review_sample
        opened = _per_unit(
            speaker,
            unit,
            N_("over {prs} opened this week"),
            N_("over {prs} opened today"),
            N_("over {prs} opened this period"),
            prs=speaker.ngettext("{count} reviewed PR", "{count} reviewed PRs", sample),
        )
        if health.unanswered:
            more = speaker.ngettext("{count} more without a review", "{count} more without a review", health.unanswered)
            opened = speaker.gettext("{opened}; {more}", opened=opened, more=more)
        lines.append(
            speaker.gettext("Median time to first review: **{median}** ({opened})", median=median, opened=opened)
        )
    elif health.unanswered:
        prs = speaker.ngettext("{count} PR", "{count} PRs", health.unanswered)
        lines.append(
            _per_unit(
                speaker,
                unit,
                N_("No review yet for the {prs} opened this week."),
                N_("No review yet for the {prs} opened today."),
                N_("No review yet for the {prs} opened this period."),
                prs=prs,
            )
        )
    if health.newcomer_first_review is not None:
        lines.append(
            speaker.gettext(
                "For first-time contributors: **{median}** (over {prs})",
                median=duration_text(health.newcomer_first_review, speaker),
                prs=speaker.ngettext("{count} PR", "{count} PRs", health.newcomer_sample),
            )
        )
    return speaker.gettext("🩺 Review health"), "\n".join(lines)


def _good_first_issues(data: DigestData, unit: str, speaker: Lang) -> tuple[str, str] | None:
    if not data.good_first_issues:
        return None
    return speaker.gettext("🌱 Good first issues"), "\n".join(f"• {link(ref)}" for ref in data.good_first_issues)


_FIELDS: dict[str, Callable[[DigestData, str, Lang], tuple[str, str] | None]] = {
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


def _window(period: Period, zone: str, speaker: Lang) -> str:
    tz = ZoneInfo(zone)
    start, end = period.start.astimezone(tz), period.end.astimezone(tz)
    pattern = speaker.pgettext("date pattern", "d MMM HH:mm")
    return speaker.gettext(
        "From GitHub activity {start} to {end} ({zone})",
        start=_date(start, pattern, speaker),
        end=_date(end, pattern, speaker),
        zone=zone,
    )
