"""The baselines of ``api-economy``: the obvious PyGithub code, in its own process, against the GitHub emulator.

Run as ``python -m benchmarks.pygithub_baseline '<json>'`` with ``{"url", "token", "mode", "repos"}``:

- ``backfill``: list the closed pull requests, then read ``merged_by`` and ``get_reviews()`` of each merged one;
- ``poll``: for each repository, read it, then page 1 of its pull requests (newest update first), of its closed
  issues and of its stargazers: what a loop that polls without conditional requests asks every time.

It prints one JSON line: what it read and how long it took. The emulator counts the requests.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from github import Auth, Github


def backfill(gh: Github, name: str) -> dict[str, Any]:
    """Read every merged pull request with its merger and reviews, the obvious way."""
    repo = gh.get_repo(name)
    merged = reviews = 0
    for pr in repo.get_pulls(state="closed"):
        if pr.merged_at is None:
            continue
        merged += 1
        _ = pr.merged_by.login if pr.merged_by else None  # not in the list item: PyGithub fetches the pull request
        reviews += sum(1 for review in pr.get_reviews() if review.user is not None)
    return {"merged": merged, "reviews": reviews}


def poll(gh: Github, names: list[str]) -> dict[str, Any]:
    """Poll each repository once without ETags."""
    read = 0
    for name in names:
        repo = gh.get_repo(name)
        read += len(repo.get_pulls(state="all", sort="updated", direction="desc").get_page(0))
        read += len(repo.get_issues(state="closed", sort="updated", direction="desc").get_page(0))
        read += len(repo.get_stargazers_with_dates().get_page(0))
    return {"items": read}


def main(argv: list[str]) -> int:
    """Run one baseline and print what it read."""
    config = json.loads(argv[0])
    # per_page=100 and no throttling: the kindest reading of "the obvious code" (the default is 30 a page).
    gh = Github(
        base_url=config["url"],
        auth=Auth.Token(config["token"]),
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    started = time.perf_counter()
    result = backfill(gh, config["repos"][0]) if config["mode"] == "backfill" else poll(gh, config["repos"])
    result["seconds"] = time.perf_counter() - started
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
