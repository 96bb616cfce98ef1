"""replay: the 1,518 merges of a real project's history (pallets/flask, pseudonymised) through the sandbox.

For each row of ``../shared/data/flask-merged-prs.csv``, in order, the author opens a pull request and it is
merged with its historical ``merged_at`` (by its recorded merger, or the sandbox's ``maintainer`` where the
history does not say), everything through the control API as signed webhooks, as fast as the API answers. Then
the bot settles. The check: every one of the 746 distinct authors is celebrated for a first merged PR exactly
once, and each of those celebrations is in a kudos post the Discord emulator stored (a burst may share a post).
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.common import SHARED, Measure, Report
from bot.sandbox.client import running_sandbox as sandbox

CSV = SHARED / "data" / "flask-merged-prs.csv"


@dataclass
class Options:
    """Sizes of one replay run."""

    limit: int | None = None  # replay only the first rows (the smoke test), None for all 1,518


def rows(limit: int | None = None) -> list[dict[str, str]]:
    """Read the history, oldest merge first."""
    with CSV.open(newline="", encoding="utf-8") as handle:
        found = list(csv.DictReader(handle))
    return found[:limit] if limit else found


@dataclass
class Celebrated:
    """The first-PR celebrations the bot recorded, and what became of their posts."""

    count: int
    people: set[int]
    logins: set[str]
    posted: set[int]
    message_ids: set[str]


async def celebrated(services: Any) -> Celebrated:
    """Read the first-PR celebrations, their posts, and which of those posts Discord received."""
    found = await services.db.fetchall(
        "SELECT c.github_id, c.detail, o.done_at, o.failed, o.result FROM celebrations c "
        "LEFT JOIN outbox o ON o.dedupe_key = c.post_key WHERE c.guild_id = ? AND c.key LIKE 'first-pr:%'",
        (services.settings.discord.guild_id,),
    )
    return Celebrated(
        count=len(found),
        people={row["github_id"] for row in found},
        logins={json.loads(row["detail"]).get("login") for row in found},
        posted={row["github_id"] for row in found if row["done_at"] and not row["failed"]},
        message_ids={str(json.loads(row["result"]).get("message_id")) for row in found if row["result"]},
    )


async def run(opts: Options | None = None) -> Report:
    """Run the replay benchmark."""
    opts = opts or Options()
    history = rows(opts.limit)
    authors = {row["author"] for row in history}
    report = Report("replay", params={**opts.__dict__, "merges": len(history), "authors": len(authors)})
    async with sandbox() as client:
        box = client.sandbox
        started = time.perf_counter()
        for row in history:
            number = await client.pull(row["author"], title=f"#{row['pr_number']}")
            await client.merge(number, by=row["merged_by"] or "maintainer", merged_at=row["merged_at"])
        sent = time.perf_counter() - started
        await client.settle()
        wall = time.perf_counter() - started
        seen = await celebrated(box.services)
        stored = {str(m["id"]) for m in box.discord.messages("kudos")}
    in_discord = len(seen.message_ids & stored)
    once = seen.count == len(seen.people) == len(authors) and seen.logins == authors
    report.add(
        Measure(
            "first-PR authors celebrated, once each",
            "authors",
            len(seen.people),
            target=f"all {len(authors)} once",
            met=once and len(seen.posted) == len(authors) and in_discord == len(seen.message_ids),
            note=f"{seen.count} first-PR celebrations, {len(seen.posted)} posted, in {in_discord} kudos posts",
        )
    )
    report.add(Measure(f"wall time, {len(history)} merges end to end", "s", wall))
    report.add(Measure("merges sent through the control API per second", "merges/s", len(history) / sent))
    report.notes.append(
        f"{len(history)} merges sent in {sent:.1f} s, settled {wall - sent:.1f} s later; {len(stored)} kudos "
        "posts in all (first PRs, milestones; bursts share a post)"
    )
    return report
