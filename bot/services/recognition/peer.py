"""People thanking people: /kudos between members and /recognize for non-code work."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import aiosqlite

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.domain import KudosGiven as KudosEvent
from bot.domain import Recognized
from bot.errors import UserFacingError
from bot.events import append_event
from bot.i18n import ENGLISH, N_, Lang
from bot.i18n.server import channel_lang
from bot.messages import OutMessage, escape_markdown, mention
from bot.outbox import enqueue_message
from bot.services.recognition.kinds import GOLD, GREEN
from bot.services.recognition.models import KudosGiven, MemberRef, MessageRef, RecognitionGiven
from bot.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

# The all-contributors contribution keys (https://allcontributors.org/docs/en/emoji-key), plus "community".
RECOGNITION_KINDS: dict[str, str] = {
    "a11y": N_("Accessibility"),
    "audio": N_("Audio"),
    "blog": N_("Blog posts"),
    "bug": N_("Bug reports"),
    "business": N_("Business development"),
    "code": N_("Code"),
    "community": N_("Community"),
    "content": N_("Content"),
    "data": N_("Data"),
    "design": N_("Design"),
    "doc": N_("Documentation"),
    "eventOrganizing": N_("Event organizing"),
    "example": N_("Examples"),
    "financial": N_("Financial support"),
    "fundingFinding": N_("Funding finding"),
    "ideas": N_("Ideas and planning"),
    "infra": N_("Infrastructure"),
    "maintenance": N_("Maintenance"),
    "mentoring": N_("Mentoring"),
    "platform": N_("Packaging and porting"),
    "plugin": N_("Plugins"),
    "projectManagement": N_("Project management"),
    "promotion": N_("Promotion"),
    "question": N_("Answering questions"),
    "research": N_("Research"),
    "review": N_("Reviewing"),
    "security": N_("Security"),
    "talk": N_("Talks"),
    "test": N_("Tests"),
    "tool": N_("Tools"),
    "translation": N_("Translation"),
    "tutorial": N_("Tutorials"),
    "userTesting": N_("User testing"),
    "video": N_("Videos"),
}
# What a maintainer may type for a kind: its key or label, in any case, and plurals such as "docs" or "talks".
_ALIASES = {key.lower(): key for key in RECOGNITION_KINDS} | {
    label.lower(): key for key, label in RECOGNITION_KINDS.items()
}
_ALIASES |= {name + "s": key for name, key in list(_ALIASES.items()) if not name.endswith("s")}
_ALIASES["documentation"] = "doc"
LINK_MAX = 512
DAY = timedelta(days=1)


def kind_choices(current: str, limit: int = 25, speaker: Lang = ENGLISH) -> list[tuple[str, str]]:
    """Return (label, key) pairs whose key or label (in English or the member's language) contains what the member
    typed, for autocomplete; the labels are in the member's language."""
    needle = current.strip().lower()
    found = []
    for key, label in RECOGNITION_KINDS.items():
        shown = speaker.gettext(label)
        if needle in key.lower() or needle in label.lower() or needle in shown.lower():
            found.append((f"{shown} ({key})", key))
    return found[:limit]


def parse_kind(value: str) -> str:
    """Return the canonical kind key, or raise a clear error listing the known ones."""
    key = _ALIASES.get(value.strip().lower())
    if key is None:
        known = ", ".join(RECOGNITION_KINDS)
        raise UserFacingError(f"I don't know the kind {value.strip()[:50]!r}. Pick one of: {known}.")
    return key


LINK_HOSTS = ("github.com",)


def parse_link(value: str, hosts: Sequence[str] = ()) -> str:
    """Accept only a full http(s) URL without user-info, on GitHub or one of ``hosts``; explain anything else."""
    link = value.strip()
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # "http://[::1" and other URLs urlsplit cannot read
        parts, host = None, ""
    ok = (
        parts is not None
        and len(link) <= LINK_MAX
        and not any(char.isspace() or unicodedata.category(char) == "Cf" for char in link)
        and parts.scheme in ("http", "https")
        and bool(host)
    )
    if not ok or parts is None:
        raise UserFacingError(
            "The link must be a full http(s) URL to the contribution (at most "
            f"{LINK_MAX} characters), like https://github.com/owner/repo/pull/1."
        )
    if "@" in parts.netloc:
        raise UserFacingError("The link may not carry a user name or password before its host (user@host).")
    allowed = [name.lower().strip(".") for name in (*LINK_HOSTS, *hosts)]
    if not any(host == name or host.endswith("." + name) for name in allowed):
        raise UserFacingError(
            f"Links must point to {', '.join(allowed)}: {host[:60]} is not on the list (a maintainer can add hosts "
            "to kudos.link_hosts)."
        )
    return link


def kudos_message(given: KudosGiven, lang: Lang = ENGLISH) -> OutMessage:
    """Render the public /kudos post in ``lang``; it may mention only the receiver."""
    footer = lang.gettext("{ordinal} kudos received", ordinal=lang.ordinal(given.total_received))
    embed: dict[str, object] = {"color": GREEN, "footer": {"text": footer}}
    if given.reason:
        embed["description"] = escape_markdown(given.reason)
    people = {"receiver": mention(given.receiver.id), "giver": mention(given.giver.id)}
    if given.message is not None:
        content = lang.gettext(
            "🙌 {receiver}, {giver} says thank you for [this message]({url})!", **people, url=given.message.url
        )
    else:
        content = lang.gettext("🙌 {receiver}, {giver} says thank you!", **people)
    return OutMessage(content=content, embeds=(embed,), mention_users=(given.receiver.id,))


def recognition_message(given: RecognitionGiven, speaker: Lang = ENGLISH) -> OutMessage:
    """Render the public /recognize post; it may mention only the recognised member."""
    label = speaker.gettext(RECOGNITION_KINDS[given.kind])
    embed = {
        "title": label,
        "url": given.link,
        "description": speaker.gettext("Recognised by {maintainer}.", maintainer=mention(given.by.id)),
        "color": GOLD,
        "footer": {
            "text": speaker.gettext("{ordinal} recognition of this kind", ordinal=speaker.ordinal(given.total_of_kind))
        },
    }
    return OutMessage(
        content=speaker.gettext(
            "🌟 {member}, thank you for your work: **{kind}**!", member=mention(given.member.id), kind=label
        ),
        embeds=(embed,),
        mention_users=(given.member.id,),
    )


def kudos_post_key(guild_id: int, interaction_id: int) -> str:
    """The outbox key of a /kudos post, named for the interaction that asked for it."""
    return f"kudos:{guild_id}:{interaction_id}"


def recognition_answer_key(guild_id: int, interaction_id: int) -> str:
    """The outbox key of a /recognize post made as the command's answer (when no kudos channel is set)."""
    return f"recognition-answer:{guild_id}:{interaction_id}"


async def _earlier_recognition(
    conn: aiosqlite.Connection, guild_id: int, interaction_id: int, by: MemberRef, member: MemberRef, posted: bool
) -> RecognitionGiven | None:
    """Find the recognition an interaction already recorded."""
    cursor = await conn.execute(
        "SELECT id, kind, link FROM recognitions WHERE guild_id = ? AND interaction_id = ?", (guild_id, interaction_id)
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM recognitions WHERE guild_id = ? AND member_id = ? AND kind = ?",
        (guild_id, member.id, row[1]),
    )
    count = await cursor.fetchone()
    total = int(count[0]) if count else 1
    return RecognitionGiven(int(row[0]), by, member, row[1], row[2], total, posted, repeated=True)


# A member who saw no answer and runs the same /kudos again within this time means the same thanks.
RETRY_WINDOW = timedelta(minutes=15)


async def _earlier_kudos(
    conn: aiosqlite.Connection,
    guild_id: int,
    giver: MemberRef,
    receiver: MemberRef,
    reason: str,
    interaction_id: int,
    now: datetime,
) -> KudosGiven | None:
    """Find the kudos this one repeats: the same interaction, or the same thanks whose answer failed just before."""
    cursor = await conn.execute(
        "SELECT k.id, o.result FROM peer_kudos k LEFT JOIN outbox o ON o.dedupe_key = 'kudos:' || k.guild_id || ':' "
        "|| k.interaction_id WHERE k.guild_id = ? AND (k.interaction_id = ? OR (k.giver_id = ? AND k.receiver_id = ? "
        "AND k.reason = ? AND k.at > ? AND o.failed = 0 AND (o.done_at IS NULL OR json_extract(o.result, '$.via') "
        "IS NOT 'interaction'))) ORDER BY k.interaction_id = ? DESC, k.id DESC LIMIT 1",
        (guild_id, interaction_id, giver.id, receiver.id, reason, iso(now - RETRY_WINDOW), interaction_id),
    )
    if await cursor.fetchone() is None:
        return None
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM peer_kudos WHERE guild_id = ? AND receiver_id = ?", (guild_id, receiver.id)
    )
    total = await cursor.fetchone()
    return KudosGiven(giver, receiver, reason, int(total[0]) if total else 1, repeated=True)


async def check_daily_limit(
    conn: aiosqlite.Connection, guild_id: int, giver_id: int, daily: int, now: datetime
) -> None:
    """Refuse a giver who has given ``daily`` kudos in the last 24 hours (any way: command, menu or reaction)."""
    cursor = await conn.execute(
        "SELECT COUNT(*), MIN(at) FROM peer_kudos WHERE guild_id = ? AND giver_id = ? AND at > ?",
        (guild_id, giver_id, iso(now - DAY)),
    )
    row = await cursor.fetchone()
    if row is not None and int(row[0]) >= daily:
        oldest = parse_iso(row[1]) or now
        raise UserFacingError(
            N_("You have given {daily} kudos in the last 24 hours, the daily limit. You can give more {when}."),
            daily=daily,
            when=f"<t:{int((oldest + DAY).timestamp())}:R>",
        )


async def record_kudos(
    conn: aiosqlite.Connection,
    guild_id: int,
    giver: MemberRef,
    receiver: MemberRef,
    reason: str,
    now: datetime,
    interaction_id: int | None = None,
    message: MessageRef | None = None,
) -> tuple[int, int]:
    """Write a kudos and its event; return its row id and how many kudos the receiver has now."""
    channel_id, message_id = (message.channel_id, message.message_id) if message else (None, None)
    cursor = await conn.execute(
        "INSERT INTO peer_kudos(guild_id, giver_id, receiver_id, reason, at, interaction_id, channel_id, message_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, giver.id, receiver.id, reason, iso(now), interaction_id, channel_id, message_id),
    )
    kudos_id = int(cursor.lastrowid or 0)
    await append_event(conn, KudosEvent(guild_id, giver.id, receiver.id, reason, iso(now)), historical=False, now=now)
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM peer_kudos WHERE guild_id = ? AND receiver_id = ?", (guild_id, receiver.id)
    )
    total = await cursor.fetchone()
    return kudos_id, int(total[0]) if total else 1


class PeerKudos:
    """Record thanks between members, with limits, and recognitions of non-code work."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings

    def _check_people(self, giver: MemberRef, receiver: MemberRef, recognition: bool = False) -> None:
        if giver.id == receiver.id:
            if recognition:
                raise UserFacingError(N_("You can't give a recognition to yourself. Is there someone who helped you?"))
            raise UserFacingError(N_("You can't give kudos to yourself. Is there someone who helped you?"))
        if receiver.bot:
            if recognition:
                raise UserFacingError(N_("Bots don't need a recognition. Thank the people behind them instead!"))
            raise UserFacingError(N_("Bots don't need kudos. Thank the people behind them instead!"))

    async def give(
        self,
        guild_id: int,
        giver: MemberRef,
        receiver: MemberRef,
        reason: str | None,
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
        message: MessageRef | None = None,
    ) -> KudosGiven:
        """Record a /kudos; refuse self-kudos, bots, too-long reasons and givers over their daily limit.

        With an ``interaction_id`` the kudos and its post (in ``channel_id``, through the outbox, held while the
        interaction answer makes it) are recorded together, keyed by the interaction: the same interaction again,
        or the same thanks again after its answer failed, records nothing new (``repeated``).
        """
        self._check_people(giver, receiver)
        text = (reason or "").strip()
        limit = self._settings.kudos.reason_max_length
        if len(text) > limit:
            raise UserFacingError(
                N_("Keep the reason to {limit} characters (yours has {length})."), limit=limit, length=len(text)
            )
        now = self._clock.now()
        async with self._db.transaction() as conn:
            if interaction_id is not None:
                earlier = await _earlier_kudos(conn, guild_id, giver, receiver, text, interaction_id, now)
                if earlier is not None:
                    return earlier
            await check_daily_limit(conn, guild_id, giver.id, self._settings.kudos.peer_daily_limit, now)
            _, total = await record_kudos(conn, guild_id, giver, receiver, text, now, interaction_id, message)
            speaker = await channel_lang(conn, self._settings)
            given = KudosGiven(
                giver, receiver, text, total, channel_id=channel_id, message=message, locale=speaker.locale
            )
            if interaction_id is not None and channel_id is not None:
                key = kudos_post_key(guild_id, interaction_id)
                await enqueue_message(conn, key, channel_id, kudos_message(given, speaker), now=now, answering=True)
        log.info("member %s gave kudos to %s", giver.id, receiver.id)
        return given

    async def recognize(
        self,
        guild_id: int,
        by: MemberRef,
        member: MemberRef,
        kind: str,
        link: str,
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
    ) -> RecognitionGiven:
        """Record a maintainer's recognition of non-code work and queue its post in the kudos channel.

        With an ``interaction_id`` the same interaction again records nothing (``repeated``); without a kudos
        channel, the post goes to ``channel_id`` (the command's) through the outbox, held while the answer makes it.
        """
        self._check_people(by, member, recognition=True)
        key, url = parse_kind(kind), parse_link(link, self._settings.kudos.link_hosts)
        now = self._clock.now()
        channel = self._settings.discord.channels.kudos
        async with self._db.transaction() as conn:
            if interaction_id is not None:
                earlier = await _earlier_recognition(conn, guild_id, interaction_id, by, member, channel is not None)
                if earlier is not None:
                    return earlier
            cursor = await conn.execute(
                "INSERT INTO recognitions(guild_id, member_id, kind, link, by_id, at, interaction_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guild_id, member.id, key, url, by.id, iso(now), interaction_id),
            )
            row_id = int(cursor.lastrowid or 0)
            cursor = await conn.execute(
                "SELECT COUNT(*) FROM recognitions WHERE guild_id = ? AND member_id = ? AND kind = ?",
                (guild_id, member.id, key),
            )
            count = await cursor.fetchone()
            given = RecognitionGiven(row_id, by, member, key, url, int(count[0]) if count else 1, channel is not None)
            recognized = Recognized(guild_id, member.id, by.id, key, url, row_id, iso(now))
            await append_event(conn, recognized, historical=False, now=now)
            speaker = await channel_lang(conn, self._settings)
            if channel is not None:
                message = recognition_message(given, speaker)
                await enqueue_message(conn, f"recognition:{guild_id}:{row_id}", channel, message, now=now)
            elif interaction_id is not None and channel_id is not None:
                answer_key = recognition_answer_key(guild_id, interaction_id)
                await enqueue_message(
                    conn, answer_key, channel_id, recognition_message(given, speaker), now=now, answering=True
                )
        log.info("maintainer %s recognised %s for %s", by.id, member.id, key)
        return given
