"""Hidden characters from GitHub never reach a post, and /recognize links only go where they should.

Fails on the code before this check: a PR title's right-to-left override and zero-width characters were posted as
they came (a reader saw "Fix txt.exe" for "Fix \u202eexe.txt", and "dev\u200b42" looked like dev42), and
/recognize accepted `https://github.com@evil.example/` (a link to evil.example) and any other host.
"""

from __future__ import annotations

from typing import Any

from bot.messages import BIDI_CONTROLS, ZERO_WIDTH
from tests.reliability import checks

HIDDEN = BIDI_CONTROLS | (ZERO_WIDTH - {"\u200b"})  # a zero-width space after "@" is how mentions are defused


def visible(message: dict[str, Any]) -> str:
    """Everything a member reads in a post: content and every embed text."""
    parts = [message["content"]]
    for embed in message["embeds"]:
        parts += [embed.get("title", ""), embed.get("description", ""), str(embed.get("author", {}).get("name", ""))]
        parts += [f"{field['name']} {field['value']}" for field in embed.get("fields", [])]
    return "\n".join(parts)


async def test_bidi_controls_and_zero_width_characters_never_reach_a_post(sandbox: Any) -> None:
    title = "Fix \u202eexe.txt\u202c in the dev\u200b42 \u2066parser\u2069 \ufeffnow\u200c \u061c 👩\u200d💻"
    await sandbox.user("newcomer")
    await sandbox.merge(await sandbox.pull("newcomer", title))
    await sandbox.settle()
    (post,) = await sandbox.messages("kudos")
    text = visible(post)
    assert "exe.txt" in text and "dev42" in text and "👩\u200d💻" in text, text
    rest = text.replace("👩\u200d💻", "")  # the joiner inside an emoji sequence is kept
    assert not set(rest) & HIDDEN, [hex(ord(c)) for c in set(rest) & HIDDEN]
    assert "\u200b" not in text.replace("@\u200b", ""), "a zero-width space only ever follows an @"
    checks.record("text hygiene", cases=8, held="no bidi control or zero-width character posted")


async def test_recognize_links_go_only_to_github_or_listed_hosts(sandbox_factory: Any) -> None:
    async with sandbox_factory(overrides={"kudos": {"link_hosts": ["youtube.com"]}}) as sb:
        await sb.add_member("alice")
        answers = {}
        for link in (
            "https://github.com@evil.example/",
            "https://user:pass@github.com/x",
            "https://evil.example/talk",
            "https://github.com.evil.example/x",
            "javascript:alert(1)",
            "https://www.youtube.com/watch?v=1",
            "https://github.com/sandbox/project/discussions/1",
        ):
            result = await sb.command("owner", "recognize", member="alice", kind="talk", link=link)
            answers[link] = result["responses"][0]["content"]
        await sb.settle()
        posted = [m["embeds"][0]["url"] for m in await sb.messages("kudos")]
    assert posted == ["https://www.youtube.com/watch?v=1", "https://github.com/sandbox/project/discussions/1"]
    assert all("posted" not in answers[link] for link in list(answers)[:5]), answers
    checks.record("recognize links", cases=7, held="2 accepted, 5 refused with a reason")
