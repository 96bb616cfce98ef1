"""Rebuild the hall of fame's rows from the ledger: set-based SQL, one transaction, then the Discord side."""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiosqlite

from bot.services.halloffame.rules import SHOWN_ACCOUNTS

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
FROM ({FACTS}) AS f JOIN github_users u ON u.id = f.github_id AND {SHOWN_ACCOUNTS.format(u="u.")}
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

# The Discord side of every linked contributor who has not asked to be forgotten: tier (by ladder order), kudos.
SIDES = (
    """
CREATE TEMP TABLE hof_side(github_id INTEGER PRIMARY KEY, discord_id INTEGER, kudos INTEGER, tier_rank INTEGER)
""",
    """
INSERT INTO temp.hof_side
SELECT l.github_id, l.discord_id,
       (SELECT COUNT(*) FROM peer_kudos k WHERE k.guild_id = l.guild_id AND k.receiver_id = l.discord_id),
       (SELECT MAX(t.key) FROM tier_grants g JOIN json_each(:tiers) t ON t.value = g.tier
            WHERE g.guild_id = l.guild_id AND g.discord_id = l.discord_id)
FROM links l LEFT JOIN member_profiles p ON p.guild_id = l.guild_id AND p.discord_id = l.discord_id
WHERE l.guild_id = :guild AND COALESCE(p.forgotten, 0) = 0
""",
    """
UPDATE hall_of_fame SET discord_id = s.discord_id, kudos = s.kudos, tier_rank = COALESCE(s.tier_rank, -1),
                        tier = json_extract(:tiers, '$[' || s.tier_rank || ']')
FROM temp.hof_side AS s WHERE s.github_id = hall_of_fame.github_id
""",
    """
CREATE TEMP TABLE hof_recognised(github_id INTEGER, kind TEXT, n INTEGER, PRIMARY KEY (github_id, kind))
""",
    """
INSERT INTO temp.hof_recognised
SELECT s.github_id, r.kind, COUNT(*) FROM temp.hof_side s
JOIN recognitions r ON r.guild_id = :guild AND r.member_id = s.discord_id GROUP BY s.github_id, r.kind
""",
)
# Kinds of a row: code for merged PRs, review for reviews, plus the member's recognitions (summed per kind).
KIND_ROWS = """
SELECT kind, SUM(n) AS n FROM (
    SELECT 'code' AS kind, hall_of_fame.merged_prs AS n WHERE hall_of_fame.merged_prs > 0
    UNION ALL SELECT 'review', hall_of_fame.reviews WHERE hall_of_fame.reviews > 0
    UNION ALL SELECT kind, n FROM temp.hof_recognised r WHERE r.github_id = hall_of_fame.github_id
) GROUP BY kind ORDER BY kind
"""
RECOGNISED = f"""
UPDATE hall_of_fame SET
    kinds = (SELECT json_group_object(kind, n) FROM ({KIND_ROWS})),
    kind_keys = ' ' || (SELECT group_concat(kind, ' ') FROM ({KIND_ROWS})) || ' '
WHERE github_id IN (SELECT github_id FROM temp.hof_recognised)
"""


def scopes_of(repositories: Sequence[str]) -> list[str]:
    """The scopes rows are kept for: '' (every repository), and each repository when there are several."""
    names = sorted({repo.lower() for repo in repositories})
    return ["", *names] if len(names) > 1 else [""]


async def rebuild(conn: aiosqlite.Connection, guild_id: int, repositories: Sequence[str], tiers: Sequence[str]) -> int:
    """Replace every row inside the caller's transaction; return how many contributors the page lists."""
    followed = json.dumps(sorted({repo.lower() for repo in repositories}))
    await conn.execute("DELETE FROM hall_of_fame")
    await conn.execute(INSERT.format(scope="''", group="f.github_id"), (followed,))
    await conn.execute(FIRST_PULLS.format(scope="''", partition="author_id"), (followed,))
    if len(scopes_of(repositories)) > 1:
        await conn.execute(INSERT.format(scope="lower(f.repo)", group="lower(f.repo), f.github_id"), (followed,))
        await conn.execute(FIRST_PULLS.format(scope="lower(repo)", partition="lower(repo), author_id"), (followed,))
    await conn.execute(GITHUB_KINDS)
    params = {"guild": guild_id, "tiers": json.dumps(list(tiers))}
    await conn.execute("DROP TABLE IF EXISTS temp.hof_side")
    await conn.execute("DROP TABLE IF EXISTS temp.hof_recognised")
    for statement in SIDES:
        await conn.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})
    await conn.execute(RECOGNISED)
    await conn.execute("DROP TABLE temp.hof_side")
    await conn.execute("DROP TABLE temp.hof_recognised")
    async with conn.execute("SELECT COUNT(*) FROM hall_of_fame WHERE scope = ''") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
