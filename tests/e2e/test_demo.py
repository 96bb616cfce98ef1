"""`vestry demo` tells the whole story with the real bot, with no tokens."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def test_demo_tells_the_whole_story_and_writes_a_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "demo.json"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--json", str(transcript)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    steps = json.loads(transcript.read_text())
    assert [step["title"] for step in steps] == [
        "A newcomer joins and links their GitHub account",
        "Their first pull request is merged",
        "They merge someone else's pull request",
        "A pull request waits too long for review",
        "Friday comes: the weekly digest",
    ]
    shown = {step["title"]: step["messages"] for step in steps}

    def texts(title: str) -> str:
        return json.dumps(shown[title])

    assert "@dana is now a Follower!" in texts("A newcomer joins and links their GitHub account")
    merged = texts("Their first pull request is merged")
    assert "Welcome aboard, @dana!" in merged and "Priest in training" in merged
    other = shown["They merge someone else's pull request"]
    assert any("This is me" in message["buttons"] for message in other)
    assert "@dana is now a Priest!" in texts("They merge someone else's pull request")
    (nudge,) = shown["A pull request waits too long for review"]
    assert nudge["channel"] == "reviews" and "first-time contributor" in json.dumps(nudge)
    (digest,) = shown["Friday comes: the weekly digest"]
    assert digest["channel"] == "digest" and digest["files"] == ["vestry-digest.png"]
    assert "@dana" in result.stdout and "<@" not in result.stdout  # mentions shown as names
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"open http://127\.0\.0\.1:\d+/ to see the hall of fame", lines[-1]), lines[-3:]
    assert any(line.startswith("The hall of fame lists") and "dana" in line for line in lines[-4:]), lines[-4:]


def test_demo_tells_the_story_in_german(tmp_path: Path) -> None:
    transcript = tmp_path / "demo.json"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--locale", "de", "--json", str(transcript)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    steps = json.loads(transcript.read_text())
    assert steps[0]["title"] == "Jemand Neues kommt dazu und verknüpft sein GitHub-Konto"
    assert steps[-1]["title"] == "Es ist Freitag: der Wochenrückblick"
    shown = json.dumps(steps, ensure_ascii=False)
    assert "@dana ist jetzt Follower!" in shown
    assert "Willkommen an Bord, @dana! Dein erster Pull Request für sandbox/project wurde gemergt. Danke!" in shown
    assert "In sandbox/project, gemergt von maintainer" in shown and "Das bin ich" in shown
    (digest,) = steps[-1]["messages"]
    assert "📜 **Diese Woche in der Sakristei**" in digest["content"]


def test_demo_refuses_a_locale_discord_does_not_know() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--locale", "klingon"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2 and "'klingon' is not a locale Discord knows" in result.stderr
    assert "Traceback" not in result.stderr
