"""The all-contributors export: a `.all-contributorsrc` from the ledger, merged with what a file already holds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bot.errors import UserFacingError
from bot.services.halloffame.models import Contributor
from bot.services.halloffame.rules import EMOJI

DEFAULTS: dict[str, Any] = {
    "repoType": "github",
    "repoHost": "https://github.com",
    "files": ["README.md"],
    "imageSize": 100,
    "commit": False,
    "commitConvention": "none",
    "contributorsPerLine": 7,
}


def kinds_of(person: Contributor) -> list[str]:
    """Map what a person did to all-contributors kinds: merged PRs are code, reviews review, recognitions theirs."""
    kinds = [kind for kind in ("code", "review") if person.kinds.get(kind)]
    kinds += sorted(kind for kind in person.kinds if kind not in kinds and kind in EMOJI)
    return kinds


def entry(person: Contributor, profile_base: str) -> dict[str, Any]:
    """Build one contributor entry as the specification describes it."""
    return {
        "login": person.login,
        "name": person.discord_name or person.login,
        "avatar_url": person.avatar_url or f"{profile_base.rstrip('/')}/{person.login}.png",
        "profile": f"{profile_base.rstrip('/')}/{person.login}",
        "contributions": kinds_of(person),
    }


def all_contributors(
    people: Iterable[Contributor], project: str, profile_base: str = "https://github.com"
) -> dict[str, Any]:
    """Build a fresh `.all-contributorsrc` for ``owner/name`` from the listed contributors."""
    owner, _, name = project.partition("/")
    entries = [entry(person, profile_base) for person in people]
    return {
        "projectName": name or owner,
        "projectOwner": owner,
        **DEFAULTS,
        "contributors": [item for item in entries if item["contributions"]],
    }


def merge_all_contributors(existing: Mapping[str, Any], fresh: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a fresh export into an existing file: every hand-added entry, field and kind stays.

    Known people keep their entry's hand-written fields (name, profile...) and gain the kinds Vestry found;
    new people are added after them in the fresh file's order.
    """
    if not isinstance(existing.get("contributors", []), list):
        raise UserFacingError("the existing file's `contributors` is not a list; fix it by hand first")
    merged = {**fresh, **{key: value for key, value in existing.items() if key != "contributors"}}
    by_login: dict[str, dict[str, Any]] = {}
    contributors: list[dict[str, Any]] = []
    for old in existing.get("contributors", []):
        item = dict(old)
        contributors.append(item)
        if isinstance(item.get("login"), str):
            by_login[item["login"].lower()] = item
    for new in fresh.get("contributors", []):
        known = by_login.get(new["login"].lower())
        if known is None:
            contributors.append(dict(new))
            continue
        kinds = list(known.get("contributions") or [])
        kinds += [kind for kind in new["contributions"] if kind not in kinds]
        known["contributions"] = kinds
        for key in ("name", "avatar_url", "profile"):
            known.setdefault(key, new[key])
    merged["contributors"] = contributors
    return merged


def read_rc(text: str, where: str) -> dict[str, Any]:
    """Read an existing `.all-contributorsrc`, saying where it is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserFacingError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(data, dict):
        raise UserFacingError(f"{where} must hold a JSON object, as the all-contributors specification says")
    return data
