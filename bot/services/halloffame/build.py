"""Rebuild the hall of fame's rows from the ledger: set-based SQL, one transaction, then the Discord side."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.services.halloffame.rules import shown_accounts_sql

# Every counted contribution: (repository, account, category, when). Reviews of one's own pull request and
# similar exclusions belong to the project's one rule of what counts; the ledger's categories are used as is.
FACTS = """
    SELECT repo, author_id AS github_id, 'merged_prs' AS cat, merged_at AS at FROM pull_requests
        WHERE state = 'merged' AND author_id IS NOT NULL
    UNION ALL SELECT repo, merged_by_id, 'merges', merged_at FROM pull_requests
        WHERE state = 'merged' AND merged_by_id IS NOT NULL AND (author_id IS NULL OR author_id != merged_by_id)
    UNION ALL SELECT repo, reviewer_id, 'reviews', submitted_at FROM reviews
        WHERE state != 'DISMISSED' AND reviewer_id IS NOT NULL
    UNION ALL SELECT repo, closed_by_id, 'issues_closed', closed_at FROM issues
        WHERE state = 'closed' AND closed_by_id IS NOT NULL AND closed_at IS NOT NULL
"""

INSERT = f"""
INSERT INTO hall_of_fame(scope, github_id, login, sort_name, avatar_url, first_at,
                         merged_prs, reviews, issues_closed, merges, total, kinds, kind_keys)
SELECT {{scope}}, f.github_id, u.login, lower(u.login), u.avatar_url, MIN(f.at),
       SUM(f.cat = 'merged_prs'), SUM(f.cat = 'reviews'), SUM(f.cat = 'issues_closed'), SUM(f.cat = 'merges'),
       COUNT(*), '{{{{}}}}', ' '
FROM ({FACTS}) AS f JOIN github_users u ON u.id = f.github_id AND {shown_accounts_sql("u")}
WHERE lower(f.repo) IN (SELECT value FROM json_each(?))
GROUP BY {{group}}
"""

FIRST_PULLS = """
WITH ranked AS (
    SELECT {scope} AS scope, author_id, repo, number, title, url, merged_at,
           ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY merged_at, repo, number) AS n
    FROM pull_requests
    WHERE state = 'merged' AND author_id IS NOT NULL AND lower(repo) IN (SELECT value FROM json_each(?))
)
UPDATE hall_of_fame SET first_pr_at = r.merged_at, first_repo = r.repo, first_number = r.number,
                        first_title = r.title, first_url = r.url
FROM ranked AS r
WHERE r.n = 1 AND hall_of_fame.scope = r.scope AND hall_of_fame.github_id = r.author_id
"""

GITHUB_KINDS = """
UPDATE hall_of_fame SET
    kind_keys = ' ' || iif(merged_prs > 0, 'code ', '') || iif(reviews > 0, 'review ', ''),
    kinds = json_patch(iif(merged_prs > 0, json_object('code', merged_prs), '{}'),
                       iif(reviews > 0, json_object('review', reviews), '{}'))
"""

DISCORD_SIDE = """
SELECT l.github_id, l.discord_id,
       (SELECT COUNT(*) FROM peer_kudos k WHERE k.guild_id = l.guild_id AND k.receiver_id = l.discord_id) AS kudos,
       (SELECT json_group_object(kind, n) FROM (SELECT kind, COUNT(*) AS n FROM recognitions r
            WHERE r.guild_id = l.guild_id AND r.member_id = l.discord_id GROUP BY kind)) AS recognised,
       (SELECT json_group_array(tier) FROM tier_grants g
            WHERE g.guild_id = l.guild_id AND g.discord_id = l.discord_id) AS tiers
FROM links l JOIN hall_of_fame h ON h.scope = '' AND h.github_id = l.github_id
LEFT JOIN member_profiles p ON p.guild_id = l.guild_id AND p.discord_id = l.discord_id
WHERE l.guild_id = ? AND COALESCE(p.forgotten, 0) = 0
"""


@dataclass(frozen=True)
class DiscordSide:
    """What a linked member's Discord side adds to their row: tier, kudos received, recognitions by kind."""

    github_id: int
    discord_id: int
    tier: str | None
    tier_rank: int
    kudos: int
    recognitions: dict[str, int]


async def rebuild(conn: aiosqlite.Connection, guild_id: int, repositories: Sequence[str], tiers: Sequence[str]) -> int:
    """Replace every row inside the caller's transaction; return how many contributors the page lists."""
    followed = json.dumps(sorted({repo.lower() for repo in repositories}))
    await conn.execute("DELETE FROM hall_of_fame")
    await conn.execute(INSERT.format(scope="''", group="f.github_id"), (followed,))
    await conn.execute(INSERT.format(scope="lower(f.repo)", group="lower(f.repo), f.github_id"), (followed,))
    await conn.execute(FIRST_PULLS.format(scope="''", partition="author_id"), (followed,))
    await conn.execute(FIRST_PULLS.format(scope="lower(repo)", partition="lower(repo), author_id"), (followed,))
    await conn.execute(GITHUB_KINDS)
    scopes = ["", *sorted({repo.lower() for repo in repositories})]
    for side in await discord_sides(conn, guild_id, tiers):
        await apply_side(conn, side, scopes)
    async with conn.execute("SELECT COUNT(*) FROM hall_of_fame WHERE scope = ''") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def discord_sides(conn: aiosqlite.Connection, guild_id: int, tiers: Sequence[str]) -> list[DiscordSide]:
    """Read the Discord side of every linked contributor who has not asked to be forgotten."""
    rank = {name: index for index, name in enumerate(tiers)}
    sides = []
    async with conn.execute(DISCORD_SIDE, (guild_id,)) as cursor:
        async for row in cursor:
            held = [name for name in json.loads(row[4] or "[]") if name in rank]
            top = max(held, key=rank.__getitem__) if held else None
            sides.append(
                DiscordSide(
                    github_id=int(row[0]),
                    discord_id=int(row[1]),
                    tier=top,
                    tier_rank=rank[top] if top is not None else -1,
                    kudos=int(row[2] or 0),
                    recognitions={str(k): int(v) for k, v in json.loads(row[3] or "{}").items()},
                )
            )
    return sides


async def apply_side(conn: aiosqlite.Connection, side: DiscordSide, scopes: Sequence[str]) -> None:
    """Add one member's Discord side to each of their rows (every scope)."""
    async with conn.execute(
        f"SELECT scope, kinds FROM hall_of_fame WHERE scope IN ({','.join('?' * len(scopes))}) AND github_id = ?",
        (*scopes, side.github_id),
    ) as cursor:
        rows = [(str(r[0]), json.loads(r[1])) for r in await cursor.fetchall()]
    for scope, kinds in rows:
        for kind, n in side.recognitions.items():
            kinds[kind] = kinds.get(kind, 0) + n
        await conn.execute(
            "UPDATE hall_of_fame SET discord_id = ?, tier = ?, tier_rank = ?, kudos = ?, kinds = ?, kind_keys = ? "
            "WHERE scope = ? AND github_id = ?",
            (
                side.discord_id,
                side.tier,
                side.tier_rank,
                side.kudos,
                json.dumps(kinds, sort_keys=True),
                " " + " ".join(sorted(kinds)) + " ",
                scope,
                side.github_id,
            ),
        )
