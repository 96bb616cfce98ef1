"""Packages from the npm registry the web tests use, cached under the repository's ignored .cache/ folder."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[2] / ".cache"


def npm_env() -> dict[str, str]:
    """Run npm and npx with their cache under .cache/ so a second run downloads nothing."""
    return {**os.environ, "npm_config_cache": str(CACHE / "npm"), "npm_config_update_notifier": "false"}


def need_node() -> str:
    """Return npx's path, or skip saying why."""
    npx = shutil.which("npx")
    if npx is None or shutil.which("node") is None:
        pytest.skip("node and npm are not installed (apt-get install nodejs npm); the all-contributors CLI needs them")
    return npx


def installed(package: str, version: str) -> Path:
    """Install an npm package into .cache/node once (under a lock); return its folder."""
    if shutil.which("npm") is None:
        pytest.skip(f"npm is not installed (apt-get install npm); {package} comes from the npm registry")
    prefix = CACHE / "node"
    folder = prefix / "node_modules" / package
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "package.json").exists():
            subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--silent",
                    "--prefix",
                    str(prefix),
                    f"{package}@{version}",
                ],
                check=True,
                env=npm_env(),
                timeout=300,
            )
    return folder
