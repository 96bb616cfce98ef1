"""``vestry export all-contributors``: write a `.all-contributorsrc` from the ledger, merged with the file's own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.config import Settings
from bot.db import Database, DatabaseError, MigrationError
from bot.errors import UserFacingError

EXIT_OK = 0
EXIT_FAILED = 1


async def export_all_contributors(settings: Settings, repo: str | None, output: str | None) -> int:
    """Export the listed contributors of one followed repository (or all of them); say what went wrong plainly."""
    from bot.clock import SystemClock
    from bot.services.halloffame import HallOfFame, all_contributors, merge_all_contributors, read_rc

    followed = {name.lower(): name for name in settings.github.repositories}
    if repo is not None and repo.lower() not in followed:
        print(
            f"vestry: --repo {repo} is not one of github.repositories ({', '.join(followed.values())})", file=sys.stderr
        )
        return EXIT_FAILED
    project = followed[repo.lower()] if repo else settings.github.repositories[0]
    db = Database(settings.database.path)
    try:
        await db.open()
        await db.migrate()
        hall = HallOfFame(
            db,
            SystemClock(),
            guild_id=settings.discord.guild_id,
            repositories=settings.github.repositories,
            tiers=[tier.name for tier in settings.ladder.tiers],
        )
        fresh = all_contributors(await hall.everyone(repo), project, settings.github.oauth_url)
        if output is None:
            print(json.dumps(fresh, indent=2, ensure_ascii=False))
            return EXIT_OK
        target = Path(output)
        if target.exists():
            fresh = merge_all_contributors(read_rc(target.read_text(encoding="utf-8"), output), fresh)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(fresh, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        partial.replace(target)  # a reader never sees half a file
        print(f"wrote {len(fresh['contributors'])} contributors to {output}")
        return EXIT_OK
    except (DatabaseError, MigrationError, UserFacingError, OSError) as exc:
        print(f"vestry: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await db.close()
