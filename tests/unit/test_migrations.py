"""Migration numbers leave no gap a database could fall into."""

from __future__ import annotations

import pytest

from bot.db import RETIRED_MIGRATIONS, bundled_migrations


def test_the_shipped_migrations_are_contiguous_apart_from_the_retired_numbers() -> None:
    versions = [m.version for m in bundled_migrations()]
    assert versions == sorted(versions)
    expected = [n for n in range(1, versions[-1] + 1) if n not in RETIRED_MIGRATIONS]
    assert versions == expected


def test_retired_numbers_are_below_the_newest_migration_and_unused() -> None:
    versions = {m.version for m in bundled_migrations()}
    assert RETIRED_MIGRATIONS.isdisjoint(versions)
    assert max(RETIRED_MIGRATIONS) < max(versions)


def test_a_gap_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import db

    monkeypatch.setattr(db, "RETIRED_MIGRATIONS", frozenset({6, 10}))
    with pytest.raises(RuntimeError, match=r"\[13\] are missing"):
        bundled_migrations()


def test_the_readme_names_every_retired_number() -> None:
    from importlib import resources

    readme = (resources.files("bot.db") / "migrations" / "README.md").read_text(encoding="utf-8")
    for number in RETIRED_MIGRATIONS:
        assert f"{number:04d}" in readme
