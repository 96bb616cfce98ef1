"""`vestry init` against the sandbox: flags only, and a person answering the prompts in a pseudo-terminal.

The first test goes all the way: init creates the ladder roles and a GitHub App from a manifest (the test plays
the browser: it opens the local page, submits its form to GitHub and follows GitHub's redirect back), writes the
files, `vestry check-config` accepts them, and `vestry sandbox --config` on them celebrates a first PR.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import aiohttp
import requests

from bot.sandbox.client import ControlClient, running_sandbox

VESTRY = [sys.executable, "-m", "bot"]


async def _run(*args: str, cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *VESTRY, *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return int(process.returncode or 0), out.decode()


async def _play_the_browser(page_url: str) -> None:
    """Do what a person's browser does: load the page, submit the manifest form, follow GitHub's redirect."""
    async with aiohttp.ClientSession() as session:
        async with session.get(page_url) as response:
            page = await response.text()
        action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
        manifest = html.unescape(re.search(r'name="manifest" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
        assert json.loads(manifest)["default_permissions"] == {
            "metadata": "read",
            "pull_requests": "read",
            "issues": "read",
        }
        async with session.post(action, data={"manifest": manifest}, allow_redirects=False) as response:
            assert response.status == 302
            callback = response.headers["Location"]
        async with session.get(callback) as response:
            assert response.status == 200 and "created" in await response.text()


def _init_flags(box: Any, tmp_path: Path) -> list[str]:
    return [
        "init",
        "--non-interactive",
        "--discord-token",
        box.discord.token,
        "--discord-api",
        box.discord.api_base,
        "--tiers",
        "Newcomer,Contributor,Core",
        "--github-api",
        box.github.url,
        "--github-web",
        box.github.url,
        "--output",
        str(tmp_path / "config.toml"),
        "--env-file",
        str(tmp_path / "vestry.env"),
        "--key-file",
        str(tmp_path / "github-app.pem"),
    ]


async def test_init_non_interactive_makes_a_config_that_passes_check_config_and_celebrates_a_first_pr(
    tmp_path: Path,
) -> None:
    async with running_sandbox() as client:
        box = client.sandbox
        flags = [
            *_init_flags(box, tmp_path),
            "--github",
            "app",
            "--webhook-url",
            "https://vestry.example/github/webhook",
        ]
        process = await asyncio.create_subprocess_exec(
            *VESTRY, *flags, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        assert process.stdout is not None
        seen = ""
        while (match := re.search(r"Open (http://127\.0\.0\.1:\d+/) ", seen)) is None:
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
            assert line, seen
            seen += line
        await _play_the_browser(match.group(1))
        seen += (await process.stdout.read()).decode()
        assert await process.wait() == 0, seen
        assert "vestry run --config" in seen and "installations/new" in seen
        roles = {r["name"]: r["position"] for r in (await client.state())["roles"]}
        assert roles["Newcomer"] < roles["Contributor"] < roles["Core"] < roles["Vestry"]

    config = (tmp_path / "config.toml").read_text()
    assert box.discord.token not in config and "PRIVATE KEY" not in config and "[github.app]" in config
    for secret_file in ("vestry.env", "github-app.pem"):
        assert stat.S_IMODE((tmp_path / secret_file).stat().st_mode) == 0o600
    code, out = await _run("check-config", "config.toml", "--env-file", "vestry.env", cwd=tmp_path)
    assert code == 0, out

    ready = tmp_path / "ready.json"
    sandbox = await asyncio.create_subprocess_exec(
        *VESTRY,
        "sandbox",
        "--config",
        "config.toml",
        "--ready-file",
        str(ready),
        "--rate-limits",
        "fast",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert sandbox.stdout is not None
        line = (await asyncio.wait_for(sandbox.stdout.readline(), timeout=60)).decode()
        assert line.startswith("sandbox ready "), line
        info = json.loads(line.removeprefix("sandbox ready "))
        async with ControlClient(info["control"]) as second:
            number = (await second.post("/github/pulls", {"repo": "sandbox/project", "author": "gwen", "title": "Hi"}))[
                "number"
            ]
            await second.post(f"/github/pulls/sandbox/project/{number}/merge", {"by": "maintainer"})
            await second.settle()
            (post,) = await second.messages("kudos")
            assert "gwen" in post["content"] + json.dumps(post["embeds"])
            assert await second.get("/github/rejections") == [] and await second.get("/discord/rejections") == []
    finally:
        sandbox.send_signal(signal.SIGTERM)
        await asyncio.wait_for(sandbox.wait(), timeout=20)


async def test_init_non_interactive_names_the_missing_flag(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        *VESTRY,
        "init",
        "--non-interactive",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await process.communicate())[0].decode()
    assert process.returncode == 1
    assert "--discord-token is required with --non-interactive" in out and "Traceback" not in out
    assert not (tmp_path / "config.toml").exists()


def _answer_like_a_person(argv: list[str], cwd: Path, token: str) -> tuple[int, str]:
    """Run init in a pseudo-terminal and answer each prompt as it appears (Enter takes the shown default)."""
    import pexpect

    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    env.pop("DISCORD_TOKEN", None)
    env.pop("GITHUB_TOKEN", None)
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env, encoding="utf-8", timeout=60)
    try:
        for prompt, answer in [
            ("Discord bot token", token),
            (r"Channel for first-PR kudos.*\(kudos\)", ""),
            (r"Channel for the review nudges", "reviews"),
            (r"Channel for the weekly digest", ""),
            (r"Channel for maintainer-only posts", "none"),
            (r"Role of the maintainers.*\(Maintainers\)", ""),
            (r"GitHub: create a GitHub App \(app\) or use a token \(token\)\?", "tokn"),
            (r"is not one of: app, token", None),
            (r"GitHub: create a GitHub App", "token"),
            (r"Repositories to follow", "sandbox project"),
            (r'expected a repository as "owner/name"', None),
            (r"Repositories to follow", "sandbox/project"),
            (r"Public URL GitHub delivers webhooks to", ""),
            (r"GitHub token", "sandbox-github-token"),
        ]:
            child.expect(prompt)
            if answer is not None:
                child.sendline(answer)
        child.expect(pexpect.EOF)
    finally:
        child.close()
    return int(child.exitstatus or 0), str(child.before)


async def test_a_person_answers_the_prompts_in_a_terminal_and_gets_a_checked_config(tmp_path: Path) -> None:
    async with running_sandbox() as client:
        box = client.sandbox
        argv = [*VESTRY, "init", "--discord-api", box.discord.api_base, "--github-api", box.github.url]
        code, tail = await asyncio.to_thread(_answer_like_a_person, argv, tmp_path, box.discord.token)
        assert code == 0, tail
        assert "vestry run --config config.toml --env-file vestry.env" in tail
    settings_text = (tmp_path / "config.toml").read_text()
    assert 'repositories = ["sandbox/project"]' in settings_text and "poll = true" in settings_text
    assert "maintainers =" not in settings_text and f"kudos = {box.discord.channel_id('kudos')}" in settings_text
    env = (tmp_path / "vestry.env").read_text()
    assert "GITHUB_TOKEN=sandbox-github-token" in env and f"DISCORD_TOKEN={box.discord.token}" in env
    assert box.discord.token not in settings_text
    code, out = await _run("check-config", "config.toml", cwd=tmp_path)
    assert code == 0, out


async def test_init_refuses_a_bad_answer_by_flag_naming_the_flag_and_writes_nothing(tmp_path: Path) -> None:
    async with running_sandbox() as client:
        flags = [*_init_flags(client.sandbox, tmp_path), "--github", "token", "--repo", "acme/widgets, not a repo"]
        code, out = await _run(*flags, cwd=tmp_path)
    assert code == 1 and "--repo: expected a repository as" in out and "Traceback" not in out
    assert not (tmp_path / "config.toml").exists() and not (tmp_path / "vestry.env").exists()


async def test_init_refuses_a_ladder_on_the_maintainer_role_before_writing_anything(tmp_path: Path) -> None:
    async with running_sandbox() as client:
        flags = [*_init_flags(client.sandbox, tmp_path), "--github", "token", "--repo", "sandbox/project"]
        flags[flags.index("--tiers") + 1] = "Maintainers,Priest in training,Priest"
        code, out = await _run(*flags, "--github-token", "sandbox-github-token", cwd=tmp_path)
    assert code == 1 and "ladder.tiers[0].role_id" in out and "maintainer_role_id" in out, out
    assert "Traceback" not in out and not (tmp_path / "config.toml").exists() and not (tmp_path / "vestry.env").exists()


def _app_setup_like_a_person(argv: list[str], cwd: Path, token: str, control: str) -> tuple[int, str]:
    """Answer the prompts of the App path in a pseudo-terminal; a browser thread does the browser's part."""
    import threading

    import pexpect

    def browser(url: str) -> None:
        asyncio.run(_play_the_browser(url))

    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    env.pop("DISCORD_TOKEN", None)
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env, encoding="utf-8", timeout=60)
    try:
        for prompt, answer in [
            ("Discord bot token", token),
            (r"Channel for first-PR kudos", ""),
            (r"Channel for the review nudges", ""),
            (r"Channel for the weekly digest", ""),
            (r"Channel for maintainer-only posts", ""),
            (r"Role of the maintainers", "Wardens"),
            (r"there is no role named 'Wardens'", None),
            (r"Role of the maintainers", "Maintainers"),
            (r"Create the ladder roles Newcomer, Contributor, Core\? \[y/n\] \(y\)", "y"),
            (r"GitHub: create a GitHub App \(app\) or use a token \(token\)\? \(app\)", ""),
            (r"Repositories to follow", ""),
            (r"Public URL GitHub delivers webhooks to", "https://vestry.example/github/webhook"),
            (r"Will you turn on invitations", "n"),
            (r"Name of the GitHub App", "Acme Vestry"),
        ]:
            child.expect(prompt)
            if answer is not None:
                child.sendline(answer)
        child.expect(r"Open (http://127\.0\.0\.1:\d+/) in a browser")
        clicked = threading.Thread(target=browser, args=(child.match.group(1),))
        clicked.start()
        child.expect(r"Installed\? Check what the App can see \[y/n\] \(y\)")
        clicked.join()
        installed = requests.post(f"{control}/github/app/install", json={"repos": ["sandbox/project"]}, timeout=30)
        assert installed.status_code == 200, installed.text  # the person installs the App on GitHub
        child.sendline("")
        child.expect("The App is installed on sandbox/project")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    return int(child.exitstatus or 0), str(child.before)


async def test_a_person_creates_the_github_app_from_the_terminal(tmp_path: Path) -> None:
    async with running_sandbox() as client:
        box = client.sandbox
        argv = [*VESTRY, "init", "--discord-api", box.discord.api_base, "--tiers", "Newcomer,Contributor,Core"]
        argv += ["--github-api", box.github.url, "--github-web", box.github.url]
        code, tail = await asyncio.to_thread(
            _app_setup_like_a_person, argv, tmp_path, box.discord.token, box.control_url
        )
        assert code == 0, tail
        assert "vestry run --config config.toml --env-file vestry.env" in tail
        assert {"Newcomer", "Contributor", "Core"} <= {r["name"] for r in (await client.state())["roles"]}
    config = (tmp_path / "config.toml").read_text()
    assert "[github.app]" in config and "repositories =" not in config.replace("# repositories =", "")
    code, out = await _run("check-config", "config.toml", "--env-file", "vestry.env", cwd=tmp_path)
    assert code == 0, out
