"""Invariants shared by the fault tests: what Discord shows must match the outbox exactly once, and GitHub's
truth must be in the ledger. Each check returns a list of problems (empty when it holds) so a failing run can
report every broken invariant at once, with its seed."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.github.spool import scan
from bot.sandbox.discord_emulator import DiscordEmulator
from bot.sandbox.github_emulator import GitHubEmulator

Query = Callable[[str, tuple[Any, ...]], Sequence[Any]]
REPORT_ENV = "VESTRY_RELIABILITY_REPORT"


def record(test: str, cases: int, held: str, **figures: Any) -> None:
    """Append a result line for docs/reliability.md when VESTRY_RELIABILITY_REPORT names a file."""
    target = os.environ.get(REPORT_ENV)
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"test": test, "cases": cases, "held": held, **figures}) + "\n")


def seconds_between(start: str, end: str | None) -> float:
    """Seconds from one stored ISO time to another (infinite when the second is missing)."""
    from bot.timeutil import parse_iso

    first, second = parse_iso(start), parse_iso(end)
    if first is None or second is None:
        return float("inf")
    return (second - first).total_seconds()


def bot_posts(discord: DiscordEmulator) -> list[Any]:
    """Messages the bot posted through the REST API (not interaction answers), deleted ones included."""
    world = discord.world
    return [
        message
        for message in world.messages.values()
        if message.author_id == world.bot_user_id and message.webhook_id is None and message.interaction is None
    ]


def message_text(message: Any) -> str:
    """Content and embeds of a stored message, as one searchable string."""
    return message.content + json.dumps(message.embeds)


def exactly_once(discord: DiscordEmulator, query: Query) -> list[str]:
    """Every performed outbox post is on Discord exactly once, and Discord shows no post the outbox lacks."""
    problems = []
    posts = [m for m in bot_posts(discord) if not m.deleted]
    nonces = Counter(str(m.nonce) for m in posts)
    problems += [f"nonce {n} posted {c} times" for n, c in nonces.items() if c > 1]
    rows = query("SELECT id, dedupe_key, kind, done_at, failed, nonce, result FROM outbox", ())
    # A post an interaction answer made (a /kudos answer) has no nonce: Discord shows it as that answer.
    answered = [row for row in rows if row["result"] and json.loads(row["result"]).get("via") == "interaction"]
    expected = {str(row["nonce"]): row for row in rows if row["kind"] in ("message", "dm") and row not in answered}
    problems += [f"a post with no outbox row: nonce {n}" for n in nonces if n not in expected]
    for nonce, row in expected.items():
        if row["done_at"] is None:
            problems.append(f"outbox row {row['dedupe_key']} never done")
        elif row["failed"]:
            problems.append(f"outbox row {row['dedupe_key']} failed")
        elif nonces.get(nonce, 0) != 1:
            problems.append(f"outbox row {row['dedupe_key']} is on Discord {nonces.get(nonce, 0)} times")
    problems += [
        f"outbox row {row['dedupe_key']} ({row['kind']}) {'failed' if row['failed'] else 'still pending'}"
        for row in rows
        if row["kind"] not in ("message", "dm") and (row["done_at"] is None or row["failed"])
    ]
    return problems


def merged_authors(github: GitHubEmulator, repo: str) -> dict[str, int]:
    """GitHub's truth: merged pull requests per author login."""
    counts: Counter[str] = Counter()
    for item in github.world.repo(repo).items.values():
        if item.is_pull and item.merged_at is not None:
            counts[item.author] += 1
    return dict(counts)


def mergers_of_others(github: GitHubEmulator, repo: str) -> set[str]:
    """Logins who merged at least one pull request written by someone else."""
    return {
        str(item.merged_by)
        for item in github.world.repo(repo).items.values()
        if item.is_pull and item.merged_at is not None and item.merged_by != item.author
    }


def first_prs_announced_once(
    discord: DiscordEmulator, github: GitHubEmulator, query: Query, repo: str, bots: Iterable[str] = ()
) -> list[str]:
    """Each human author with a merged PR has one first-PR celebration, posted once, naming them; bots none."""
    problems = []
    posts = {str(m.nonce): m for m in bot_posts(discord) if not m.deleted}
    bots = set(bots)
    for login in merged_authors(github, repo):
        github_id = github.user_id(login)
        rows = query(
            "SELECT c.post_key, o.id, o.nonce FROM celebrations c LEFT JOIN outbox o ON o.dedupe_key = c.post_key "
            "WHERE c.key = ?",
            (f"first-pr:{github_id}",),
        )
        if login in bots:
            if rows:
                problems.append(f"bot {login} was celebrated")
            continue
        if len(rows) != 1 or rows[0]["post_key"] is None or rows[0]["id"] is None:
            problems.append(f"{login}'s first PR was not announced ({[dict(r) for r in rows]})")
            continue
        message = posts.get(str(rows[0]["nonce"]))
        if message is None:
            problems.append(f"{login}'s first-PR post is not on Discord")
        elif login not in message_text(message):
            problems.append(f"{login}'s first-PR post does not name them: {message.content!r}")
    return problems


def ladder_roles_granted(
    discord: DiscordEmulator, github: GitHubEmulator, repo: str, links: dict[str, str]
) -> list[str]:
    """Each linked member holds every tier role their GitHub record earns (the default ladder, stacked)."""
    problems = []
    merged = merged_authors(github, repo)
    mergers = mergers_of_others(github, repo)
    for member, login in links.items():
        expected = {"Follower"}
        if merged.get(login):
            expected.add("Priest in training")
        if login in mergers:
            expected.add("Priest")
        held = set(discord.member_roles(member))
        missing = expected - held
        extra = (held & {"Follower", "Priest in training", "Priest"}) - expected
        if missing or extra:
            problems.append(
                f"{member} (@{login}) roles {sorted(held)}; missing {sorted(missing)}, extra {sorted(extra)}"
            )
    return problems


def ledger_matches_github(github: GitHubEmulator, query: Query, repo: str) -> list[str]:
    """Every merge and review GitHub holds is in the ledger."""
    problems = []
    merged = {row["number"] for row in query("SELECT number FROM pull_requests WHERE state = 'merged'", ())}
    reviews = {row["id"] for row in query("SELECT id FROM reviews", ())}
    for item in github.world.repo(repo).items.values():
        if not item.is_pull:
            continue
        if item.merged_at is not None and item.number not in merged:
            problems.append(f"merge of #{item.number} missing from the ledger")
        problems += [f"review {r.id} on #{item.number} missing" for r in item.reviews if r.id not in reviews]
    return problems


def processing_complete(query: Query, spool: Path | None = None) -> list[str]:
    """No event, webhook delivery (in the ``spool`` folder, when given) or outbox row is left behind, and the file
    is sound."""
    problems = []
    newest = query("SELECT COALESCE(MAX(seq), 0) AS seq FROM events", ())[0]["seq"]
    behind = query("SELECT consumer, seq FROM event_cursors WHERE seq < ?", (newest,))
    problems += [f"consumer {row['consumer']} stopped at {row['seq']} of {newest}" for row in behind]
    stuck = query("SELECT delivery_id FROM webhook_deliveries WHERE processed_at IS NULL", ())
    problems += [f"webhook delivery {row['delivery_id']} never processed" for row in stuck]
    for entry in scan(spool) if spool is not None and spool.is_dir() else []:
        if not query("SELECT 1 FROM webhook_deliveries WHERE delivery_id = ?", (entry.delivery,)):
            problems.append(f"webhook delivery {entry.delivery} acknowledged (in the spool) but never recorded")
    integrity = query("PRAGMA integrity_check", ())[0][0]
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    return problems


def no_secrets(files: Iterable[Path], secrets: dict[str, str]) -> list[str]:
    """Secret values found in files (logs, database, -wal and -shm, and the files of folders such as the spool)."""
    found = []
    for path in [file for given in files for file in (sorted(given.rglob("*")) if given.is_dir() else [given])]:
        if not path.is_file():
            continue
        data = path.read_bytes()
        found += [f"{name} in {path.name}" for name, value in secrets.items() if value and value.encode() in data]
    return found
