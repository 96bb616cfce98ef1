"""`vestry export all-contributors`: a valid .all-contributorsrc, merged without losing hand-made entries, rendered
by the official all-contributors CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as vestry
from bot.db import Database
from bot.services.halloffame import merge_all_contributors
from tests.web.conftest import Ledger
from tests.web.npm import need_node, npm_env

HAND_MADE = {
    "projectName": "rocket",
    "projectOwner": "acme",
    "repoType": "github",
    "repoHost": "https://github.com",
    "files": ["README.md"],
    "imageSize": 80,
    "commit": False,
    "commitConvention": "angular",
    "contributorsPerLine": 5,
    "badgeTemplate": "custom",
    "contributors": [
        {
            "login": "Ann",
            "name": "Ann Written By Hand",
            "avatar_url": "https://avatars.githubusercontent.com/u/1",
            "profile": "https://ann.example",
            "contributions": ["doc", "talk"],
        },
        {
            "login": "designer",
            "name": "Someone who never used GitHub",
            "avatar_url": "https://example.org/d.png",
            "profile": "https://example.org",
            "contributions": ["design"],
        },
    ],
}


def ledger_with_people(folder: Path) -> Path:
    """Write a config and a database with three contributors, one of them recognised for docs, and a bot."""

    async def fill() -> None:
        db = Database(folder / "vestry.sqlite3")
        await db.open()
        await db.migrate()
        ledger = Ledger(db)
        ann, bob, carol = [await ledger.user(n, name) for n, name in ((1, "ann"), (2, "bob"), (3, "carol"))]
        await ledger.merged(ann, repo="acme/rocket", by=bob)
        await ledger.review(bob, repo="acme/rocket")
        await ledger.merged(carol, repo="acme/docs", by=bob)
        await ledger.link(300, carol, "carol")
        await ledger.recognise(300, "doc")
        await ledger.merged(await ledger.user(99, "renovate[bot]"), repo="acme/rocket")
        await db.close()

    asyncio.run(fill())
    config = folder / "config.toml"
    config.write_text(
        '[discord]\nguild_id = 1\n\n[github]\nrepositories = ["acme/rocket", "acme/docs"]\n\n'
        f'[database]\npath = "{folder / "vestry.sqlite3"}"\n',
        encoding="utf-8",
    )
    return config


def export(config: Path, *extra: str) -> int:
    return vestry(["export", "all-contributors", "--config", str(config), *extra])


def test_the_export_maps_merges_to_code_reviews_to_review_and_recognitions_to_their_kind(
    tmp_path: Path, capsys: Any
) -> None:
    config = ledger_with_people(tmp_path)
    assert export(config) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["projectOwner"] == "acme" and data["projectName"] == "rocket" and data["contributorsPerLine"] == 7
    kinds = {entry["login"]: entry["contributions"] for entry in data["contributors"]}
    assert kinds == {"ann": ["code"], "bob": ["review"], "carol": ["code", "doc"]}, "bots never; merges alone no kind"
    carol = next(entry for entry in data["contributors"] if entry["login"] == "carol")
    assert carol["profile"] == "https://github.com/carol" and carol["name"] == "carol", "no Discord name without opt-in"
    assert export(config, "--repo", "acme/docs") == 0
    docs = json.loads(capsys.readouterr().out)
    assert [entry["login"] for entry in docs["contributors"]] == ["carol"] and docs["projectName"] == "docs"
    assert export(config, "--repo", "someone/else") == 1
    assert "not one of github.repositories" in capsys.readouterr().err


def test_merging_keeps_hand_added_entries_kinds_and_fields() -> None:
    fresh = {
        "projectName": "rocket",
        "projectOwner": "acme",
        "contributorsPerLine": 7,
        "contributors": [
            {"login": "ann", "name": "ann", "avatar_url": "a", "profile": "p", "contributions": ["code"]},
            {"login": "bob", "name": "bob", "avatar_url": "b", "profile": "q", "contributions": ["review"]},
        ],
    }
    merged = merge_all_contributors(HAND_MADE, fresh)
    assert merged["contributorsPerLine"] == 5 and merged["badgeTemplate"] == "custom" and merged["imageSize"] == 80
    ann, designer, bob = merged["contributors"]
    assert ann["name"] == "Ann Written By Hand" and ann["profile"] == "https://ann.example"
    assert ann["contributions"] == ["doc", "talk", "code"]
    assert designer == HAND_MADE["contributors"][1]
    assert bob["login"] == "bob" and bob["contributions"] == ["review"]
    assert merge_all_contributors(merged, fresh) == merged, "merging twice changes nothing"


def test_the_official_cli_renders_the_merged_file_into_a_readme_table(tmp_path: Path) -> None:
    npx = need_node()
    config = ledger_with_people(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    rc = project / ".all-contributorsrc"
    rc.write_text(json.dumps(HAND_MADE), encoding="utf-8")
    (project / "README.md").write_text(
        "# Rocket\n\n<!-- ALL-CONTRIBUTORS-LIST:START -->\n<!-- ALL-CONTRIBUTORS-LIST:END -->\n", encoding="utf-8"
    )
    assert export(config, "--repo", "acme/rocket", "-o", str(rc)) == 0
    merged = json.loads(rc.read_text())
    assert [entry["login"] for entry in merged["contributors"]] == ["Ann", "designer", "bob"]
    try:
        result = subprocess.run(
            [npx, "--yes", "all-contributors-cli@6.26.1", "generate"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            env=npm_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail("npx all-contributors-cli did not finish in 300 s")
    assert result.returncode == 0, result.stderr[-2000:]
    readme = (project / "README.md").read_text()
    for shown in ("Ann Written By Hand", "Someone who never used GitHub", "https://github.com/bob"):
        assert shown in readme, readme
    assert readme.count("<td ") == 3
    assert 'title="Reviewed Pull Requests">👀' in readme and 'title="Talks">📢' in readme
