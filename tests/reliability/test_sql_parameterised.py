"""SQL is parameterised everywhere: the lint rule in sql_lint.py passes on bot/ and cogs/, and catches each way
of putting a value into SQL text."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.reliability import checks
from tests.reliability.sql_lint import check, scan

BAD = {
    "f-string": """
        async def find(db, login):
            return await db.fetchone(f"SELECT * FROM github_users WHERE login = '{login}'")
        """,
    "concatenation": """
        async def _find(db, login):
            return await db.fetchall("SELECT * FROM github_users WHERE login = '" + login + "'")
        """,
    "format": """
        async def _find(conn, login):
            await conn.execute("SELECT * FROM github_users WHERE login = '{}'".format(login))
        """,
    "percent": """
        async def _find(conn, user_id):
            await conn.execute("SELECT * FROM github_users WHERE id = %s" % user_id)
        """,
    "variable built from a value": """
        async def _find(db, repo):
            where = f" AND repo = '{repo}'"
            sql = "SELECT * FROM pull_requests WHERE 1" + where
            return await db.fetchall(sql)
        """,
    "helper given a value": """
        async def _one(conn, sql, params=()):
            return await conn.execute(sql, params)

        async def _find(conn, order):
            return await _one(conn, "SELECT * FROM links ORDER BY " + order)
        """,
    "public helper": """
        async def run_query(conn, sql):
            return await conn.execute(sql)
        """,
    "opaque call": """
        async def _find(db, settings):
            return await db.fetchall(settings.query())
        """,
}

GOOD = """
    COLUMNS = "id, login"
    HUMAN = "COALESCE({u}.is_bot, 0) = 0"

    async def _one(conn, sql, params=()):
        return await conn.execute(sql, params)

    def _repo(alias, repos):
        return f" AND {alias}.repo IN ({','.join('?' * len(repos))})" if repos else ""

    async def find(conn, login, repos, newest):
        order = "DESC" if newest else "ASC"
        sql = f"SELECT {COLUMNS} FROM github_users u WHERE login = ? AND {HUMAN.format(u='u')}" + _repo("u", repos)
        sql += f" ORDER BY id {order} LIMIT {int(10)}"
        for table in ("stars", "reviews"):
            await _one(conn, f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (login,))
        return await _one(conn, sql, (login, *repos))
"""


def findings_in(tmp_path: Path, source: str) -> list[str]:
    module = tmp_path / "bot" / "snippet.py"
    module.parent.mkdir(exist_ok=True)
    module.write_text(textwrap.dedent(source))
    return [str(f) for f in check([module], tmp_path)]


def test_bot_and_cogs_build_sql_only_from_constants() -> None:
    problems = scan("bot", "cogs")
    checks.record("SQL parameterised (lint over bot/ and cogs/)", 1, "no SQL text built from a value")
    assert not problems, "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("name", sorted(BAD))
def test_the_rule_catches_a_value_in_sql_text(tmp_path: Path, name: str) -> None:
    assert findings_in(tmp_path, BAD[name]), f"the rule missed: {name}"


def test_the_rule_accepts_sql_built_from_constants_and_placeholders(tmp_path: Path) -> None:
    assert findings_in(tmp_path, GOOD) == []
