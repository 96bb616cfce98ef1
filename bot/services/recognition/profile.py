"""What /profile shows: a member's linked account, contributions, thanks received and place on the ladder."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.db import Database
from bot.errors import UserFacingError
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

    @property
    def summary(self) -> str:
        """Say it in one line."""


class LadderProgress(Protocol):
    """What /profile asks the ladder (``bot.services.ladder.Ladder`` answers it)."""

    async def progress(self, guild_id: int, discord_id: int) -> Progress:
        """Return the member's progress."""


class ProfileReader:
    """Read everything /profile shows about one member."""

    def __init__(self, db: Database, ladder: LadderProgress | None) -> None:
        self._db = db
        self._ladder = ladder

    async def profile(self, guild_id: int, member: MemberRef, viewer_id: int) -> Profile:
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
            ladder=await self._progress(guild_id, member.id),
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

    async def _progress(self, guild_id: int, discord_id: int) -> str | None:
        if self._ladder is None:
            return None
        try:
            return (await self._ladder.progress(guild_id, discord_id)).summary
        except Exception:
            log.exception("the ladder could not tell the progress of member %s", discord_id)
            return None


def profile_embed(profile: Profile, name: str, web_url: str = "https://github.com") -> dict[str, object]:
    """Render a profile as an embed."""
    if profile.login is not None:
        account = f"[{escape_markdown(profile.login)}]({web_url.rstrip('/')}/{profile.login})"
    else:
        account = "not linked yet: run /link to connect your GitHub account"
    lines = [
        f"**Member** {mention(profile.discord_id)}",
        f"**GitHub** {account}",
        f"**Merged pull requests** {profile.merged_prs}",
        f"**Reviews** {profile.reviews}",
        f"**Merges of others' pull requests** {profile.merges}",
        f"**Issues closed** {profile.issues_closed}",
        f"**Kudos received** {profile.kudos}",
    ]
    fields: list[dict[str, object]] = []
    if profile.recognitions:
        text = "\n".join(f"{RECOGNITION_KINDS.get(kind, kind)}: {n}" for kind, n in profile.recognitions.items())
        fields.append({"name": "Recognitions", "value": text[:1024], "inline": False})
    if profile.first_pr is not None:
        pull = profile.first_pr
        when = f"<t:{int(pull.merged_at.timestamp())}:D>" if pull.merged_at else "at an unknown date"
        title = escape_markdown(pull.title[:200] or f"#{pull.number}")
        value = f"[{title}]({pull.url}) in {escape_markdown(pull.repo)}, merged {when}"
        fields.append({"name": "First pull request", "value": value[:1024], "inline": False})
    fields.append({"name": "Ladder", "value": (profile.ladder or "Tier unknown.")[:1024], "inline": False})
    return {
        "title": f"{escape_markdown(name)}'s profile",
        "description": "\n".join(lines),
        "color": GREEN,
        "fields": fields,
    }
