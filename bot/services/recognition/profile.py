"""What /profile shows: a member's linked account, contributions, thanks received and place on the ladder."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.db import Database
from bot.errors import UserFacingError
from bot.i18n import ENGLISH, Lang
from bot.messages import escape_markdown, mention
from bot.services.people import github_for_discord
from bot.services.recognition.kinds import GREEN
from bot.services.recognition.models import FirstPull, MemberRef, Profile
from bot.services.recognition.peer import RECOGNITION_KINDS
from bot.services.stats import member_contributions
from bot.timeutil import parse_iso

log = logging.getLogger(__name__)


class Progress(Protocol):
    """A member's place on the ladder, as the ladder tells it."""

    def say(self, speaker: Lang) -> str:
        """Say it in one line, in ``speaker``'s language."""


class LadderProgress(Protocol):
    """What /profile asks the ladder (``bot.services.ladder.Ladder`` answers it)."""

    async def progress(self, guild_id: int, discord_id: int, speaker: Lang = ENGLISH) -> Progress:
        """Return the member's progress."""


class ProfileReader:
    """Read everything /profile shows about one member."""

    def __init__(self, db: Database, ladder: LadderProgress | None) -> None:
        self._db = db
        self._ladder = ladder

    async def profile(self, guild_id: int, member: MemberRef, viewer_id: int, speaker: Lang = ENGLISH) -> Profile:
        """Collect a member's profile; an unlinked member with nothing to show gets a pointer to /link."""
        link = await github_for_discord(self._db, guild_id, member.id)
        counts = await member_contributions(self._db, guild_id, member.id)
        rows = await self._db.fetchall(
            "SELECT kind, COUNT(*) AS n FROM recognitions WHERE guild_id = ? AND member_id = ? GROUP BY kind "
            "ORDER BY n DESC, kind",
            (guild_id, member.id),
        )
        recognitions = {str(row["kind"]): int(row["n"]) for row in rows}
        if link is None and not counts.kudos and not recognitions:
            if member.id == viewer_id:
                raise UserFacingError("You haven't linked your GitHub account yet. Run /link to connect it.")
            raise UserFacingError(
                f"{escape_markdown(member.name)} hasn't linked a GitHub account yet; they can run /link to connect it."
            )
        first = None if link is None else await self._first_pull(link[0])
        return Profile(
            discord_id=member.id,
            github_id=None if link is None else link[0],
            login=None if link is None else link[1],
            merged_prs=counts.merged_prs,
            reviews=counts.reviews,
            merges=counts.merges,
            issues_closed=counts.issues_closed,
            kudos=counts.kudos,
            recognitions=recognitions,
            first_pr=first,
            ladder=await self._progress(guild_id, member.id, speaker),
        )

    async def _first_pull(self, github_id: int) -> FirstPull | None:
        row = await self._db.fetchone(
            "SELECT repo, number, title, url, merged_at FROM pull_requests WHERE state = 'merged' AND author_id = ? "
            "ORDER BY merged_at, repo, number LIMIT 1",
            (github_id,),
        )
        if row is None:
            return None
        return FirstPull(row["repo"], int(row["number"]), row["title"], row["url"], parse_iso(row["merged_at"]))

    async def _progress(self, guild_id: int, discord_id: int, speaker: Lang) -> str | None:
        if self._ladder is None:
            return None
        try:
            return (await self._ladder.progress(guild_id, discord_id, speaker)).say(speaker)
        except Exception:
            log.exception("the ladder could not tell the progress of member %s", discord_id)
            return None


def profile_embed(
    profile: Profile, name: str, web_url: str = "https://github.com", speaker: Lang = ENGLISH
) -> dict[str, object]:
    """Render a profile as an embed, in ``speaker``'s language."""
    if profile.login is not None:
        account = f"[{escape_markdown(profile.login)}]({web_url.rstrip('/')}/{profile.login})"
    else:
        account = speaker.gettext("not linked yet: run /link to connect your GitHub account")
    lines = [
        speaker.gettext("**Member** {member}", member=mention(profile.discord_id)),
        speaker.gettext("**GitHub** {account}", account=account),
        speaker.gettext("**Merged pull requests** {count}", count=speaker.number(profile.merged_prs)),
        speaker.gettext("**Reviews** {count}", count=speaker.number(profile.reviews)),
        speaker.gettext("**Merges of others' pull requests** {count}", count=speaker.number(profile.merges)),
        speaker.gettext("**Issues closed** {count}", count=speaker.number(profile.issues_closed)),
        speaker.gettext("**Kudos received** {count}", count=speaker.number(profile.kudos)),
    ]
    fields: list[dict[str, object]] = []
    if profile.recognitions:
        text = "\n".join(
            f"{speaker.gettext(RECOGNITION_KINDS[kind]) if kind in RECOGNITION_KINDS else kind}: {speaker.number(n)}"
            for kind, n in profile.recognitions.items()
        )
        fields.append({"name": speaker.gettext("Recognitions"), "value": text[:1024], "inline": False})
    if profile.first_pr is not None:
        pull = profile.first_pr
        title = escape_markdown(pull.title[:200] or f"#{pull.number}")
        repo = escape_markdown(pull.repo)
        if pull.merged_at:
            value = speaker.gettext(
                "[{title}]({url}) in {repo}, merged {when}",
                title=title,
                url=pull.url,
                repo=repo,
                when=f"<t:{int(pull.merged_at.timestamp())}:D>",
            )
        else:
            value = speaker.gettext(
                "[{title}]({url}) in {repo}, merged at an unknown date", title=title, url=pull.url, repo=repo
            )
        fields.append({"name": speaker.gettext("First pull request"), "value": value[:1024], "inline": False})
    fields.append(
        {
            "name": speaker.gettext("Ladder"),
            "value": (profile.ladder or speaker.gettext("Tier unknown."))[:1024],
            "inline": False,
        }
    )
    return {
        "title": speaker.gettext("{name}'s profile", name=escape_markdown(name)),
        "description": "\n".join(lines),
        "color": GREEN,
        "fields": fields,
    }
