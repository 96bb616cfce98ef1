"""Realistic ``pull_request`` webhook bodies for the load generator, rendered by the GitHub emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchmarks import loadgen
from bot.clock import ManualClock
from bot.sandbox.github.state import sha
from bot.sandbox.github_emulator import GitHubEmulator

REPO = "sandbox/project"
FILLER = (
    "This change reworks the request handling so that errors raised while streaming are reported once, "
    "adds tests for the empty body, the chunked body and the body that ends early, and updates the docs. "
)


def _rewrite(node: Any, number: int, pr_id: int, login: str, author_id: int) -> Any:
    """Put the sentinels where the generator will write each delivery's own number, ids and author."""
    path = re.compile(rf"/(pulls?|issues)/{number}(?=/|$|#)")
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "number" and value == number:
                out[key] = int(loadgen.NUMBER)
            elif key == "id" and value == pr_id:
                out[key] = int(loadgen.PR_ID)
            elif key == "id" and node.get("login") == login and value == author_id:
                out[key] = int(loadgen.AUTHOR_ID)
            else:
                out[key] = _rewrite(value, number, pr_id, login, author_id)
        return out
    if isinstance(node, list):
        return [_rewrite(value, number, pr_id, login, author_id) for value in node]
    if isinstance(node, str):
        return path.sub(lambda m: f"/{m.group(1)}/{loadgen.NUMBER.decode()}", node)
    return node


# The deliveries of one pull request's life, as GitHub sends them: opened, labeled, two pushes, merged.
LIFE = ("opened", "labeled", "synchronize", "synchronize", "closed")
# The worst case for what follows the ledger: every other delivery a merge (each one news for the consumers).
MERGES = ("opened", "closed")


async def write_templates(
    folder: Path, actions: tuple[str, ...] = LIFE, min_bytes: int = 20 * 1024
) -> tuple[list[str], int]:
    """Render one body per action (with sentinels) of a pull request's life; return their paths and largest size."""
    gh = GitHubEmulator(clock=ManualClock())
    await gh.start()
    try:
        await gh.create_repo(REPO, deliver=False)
        await gh.create_user("maintainer", deliver=False)
        author = loadgen.AUTHOR_LOGIN.decode()
        opened = await gh.open_pull(REPO, author, "Stream request bodies without buffering", deliver=False, body="")
        repo, item = gh.world.repo(REPO), gh.world.pull(REPO, opened["number"])
        author_id = gh.user_id(author)
        rendered = {"opened": gh.payloads.pull_request("opened", repo, item, author).payload}
        await gh.add_labels(REPO, item.number, ["bug"], deliver=False)
        label = gh.render.label(repo, "bug")
        rendered["labeled"] = gh.payloads.pull_request("labeled", repo, item, author, label=label).payload
        push = {"before": sha("push", 1), "after": sha("push", 2)}
        rendered["synchronize"] = gh.payloads.pull_request("synchronize", repo, item, author, **push).payload
        await gh.merge_pull(REPO, item.number, "maintainer", deliver=False)
        rendered["closed"] = gh.payloads.pull_request("closed", repo, item, "maintainer").payload
    finally:
        await gh.stop()
    paths = []
    size = 0
    for index, action in enumerate(actions):
        data = _rewrite(rendered[action], item.number, item.pr_id, author, author_id)
        text = json.dumps(data)
        missing = min_bytes - len(text.encode())
        if missing > 0:
            data["pull_request"]["body"] = (FILLER * (missing // len(FILLER) + 1))[:missing]
            text = json.dumps(data)
        path = folder / f"pull_request-{index}-{action}.json"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
        size = max(size, len(text.encode()))
    return paths, size
