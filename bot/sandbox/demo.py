"""``vestry demo``: a short story played by the real bot in the sandbox, shown as Discord would show it."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from bot.sandbox.client import ControlClient
from bot.sandbox.runner import Sandbox

REPO = "sandbox/project"
CHANNELS = ("kudos", "reviews", "digest", "maintainers")
#: The story's narration in the languages the demo tells it in (the bot's own posts come from its catalogues).
STORY: dict[str, dict[str, str]] = {
    "de": {
        "A newcomer joins and links their GitHub account": "Jemand Neues kommt dazu und verknüpft sein GitHub-Konto",
        "Their first pull request is merged": "Der erste Pull Request wird gemergt",
        "They merge someone else's pull request": "Dana mergt den Pull Request von jemand anderem",
        "A pull request waits too long for review": "Ein Pull Request wartet zu lange auf ein Review",
        "Friday comes: the weekly digest": "Es ist Freitag: der Wochenrückblick",
        "/link answered dana privately with the code {code}; dana approves it on GitHub": (
            "/link hat dana privat den Code {code} geschickt; dana bestätigt ihn auf GitHub"
        ),
        "maintainer merged {pull} by dana": "maintainer hat {pull} von dana gemergt",
        "dana merged {pull} by erin (erin has not linked a Discord account)": (
            "dana hat {pull} von erin gemergt (erin hat kein Discord-Konto verknüpft)"
        ),
        "frank asked dana to review {pull}; the clock moves on 3 days to {now}": (
            "frank bittet dana um ein Review von {pull}; die Uhr springt 3 Tage weiter auf {now}"
        ),
        "erin stars the repository; the clock moves to Friday {when} UTC": (
            "erin gibt dem Repository einen Stern; die Uhr springt auf Freitag, {when} UTC"
        ),
        "(nothing posted)": "(nichts gepostet)",
    },
    "pt-BR": {
        "A newcomer joins and links their GitHub account": "Uma pessoa nova chega e vincula a conta do GitHub",
        "Their first pull request is merged": "O primeiro pull request é mesclado",
        "They merge someone else's pull request": "Dana mescla o pull request de outra pessoa",
        "A pull request waits too long for review": "Um pull request espera demais por revisão",
        "Friday comes: the weekly digest": "Chega a sexta-feira: o resumo semanal",
        "/link answered dana privately with the code {code}; dana approves it on GitHub": (
            "o /link respondeu a dana em particular com o código {code}; dana aprova no GitHub"
        ),
        "maintainer merged {pull} by dana": "maintainer mesclou {pull} de dana",
        "dana merged {pull} by erin (erin has not linked a Discord account)": (
            "dana mesclou {pull} de erin (erin não vinculou uma conta do Discord)"
        ),
        "frank asked dana to review {pull}; the clock moves on 3 days to {now}": (
            "frank pediu a dana que revisasse {pull}; o relógio avança 3 dias, para {now}"
        ),
        "erin stars the repository; the clock moves to Friday {when} UTC": (
            "erin dá uma estrela ao repositório; o relógio vai para sexta-feira, {when} UTC"
        ),
        "(nothing posted)": "(nada publicado)",
    },
}


@dataclass
class Transcript:
    """What each step of the story showed."""

    steps: list[dict[str, Any]] = field(default_factory=list)


class Demo:
    """Play the story against a running sandbox and print what each channel shows."""

    def __init__(self, sandbox: Sandbox, client: ControlClient, console: Console, locale: str = "en-US") -> None:
        self.sandbox = sandbox
        self.client = client
        self.console = console
        self.locale = locale
        self.transcript = Transcript()
        self._seen: dict[str, int] = {}
        self._names: dict[str, str] = {}

    async def run(self) -> None:
        """Tell the whole story, starting on a Monday morning so the week fits in one digest."""
        now = self.sandbox.clock.now()
        monday = (now + timedelta(days=7 - now.weekday())).replace(hour=10, minute=0, second=0, microsecond=0)
        await self.client.clock(now=monday.isoformat())
        await self.step("A newcomer joins and links their GitHub account", self.join_and_link)
        await self.step("Their first pull request is merged", self.first_merge)
        await self.step("They merge someone else's pull request", self.merge_for_someone_else)
        await self.step("A pull request waits too long for review", self.waiting_review)
        await self.step("Friday comes: the weekly digest", self.digest)

    def say(self, text: str, **values: Any) -> str:
        """Narrate in the demo's language."""
        return STORY.get(self.locale, {}).get(text, text).format(**values)

    async def step(self, title: str, action: Any) -> None:
        """Run one step and show what changed in Discord."""
        title = self.say(title)
        self.console.rule(f"[bold]{title}")
        notes: list[str] = []
        await action(notes)
        await self.client.settle()
        for note in notes:
            self.console.print(f"[dim]{note}[/dim]")
        shown = await self.show_new_messages()
        self.transcript.steps.append({"title": title, "notes": notes, "messages": shown})

    async def names(self) -> dict[str, str]:
        """Map Discord ids to display names (members, roles, channels) for resolving mentions."""
        state = await self.client.state()
        names = {m["id"]: "@" + m["name"] for m in state["members"]}
        names |= {f"&{r['id']}": "@" + r["name"] for r in state["roles"]}
        names |= {f"#{c['id']}": "#" + c["name"] for c in state["channels"]}
        self._names = names
        return names

    def markdown(self, text: str) -> Text:
        """Render the bits of Discord markdown Vestry uses: bold, links, escapes; mentions become names."""
        text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1 <\2>", self.resolve(text))
        out = Text()
        for index, part in enumerate(re.split(r"\*\*", text)):
            out.append(re.sub(r"\\([\\*_~`|>#\[\]()\-.!])", r"\1", part), style="bold" if index % 2 else "")
        return out

    def resolve(self, text: str) -> str:
        """Show mentions as names, as Discord does."""

        def swap(match: re.Match[str]) -> str:
            kind, ident = match.group(1), match.group(2)
            key = {"@": ident, "@!": ident, "@&": f"&{ident}", "#": f"#{ident}"}[kind]
            return self._names.get(key, match.group(0))

        return re.sub(r"<(@!?|@&|#)(\d+)>", swap, text or "")

    async def show_new_messages(self) -> list[dict[str, Any]]:
        """Print messages posted since the last step, per channel."""
        await self.names()
        shown = []
        targets = list(CHANNELS) + [f"dm:{name}" for name in ("dana",)]
        for channel in targets:
            try:
                messages = await self.client.messages(channel)
            except Exception:  # a DM channel that does not exist yet
                continue
            fresh = messages[self._seen.get(channel, 0) :]
            self._seen[channel] = len(messages)
            for message in fresh:
                shown.append(self.render(channel, message))
        if not shown:
            self.console.print(f"[dim]{self.say('(nothing posted)')}[/dim]")
        return shown

    def render(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        """Print one message like Discord would: text, embeds, buttons, attachments."""
        parts: list[Any] = []
        content = self.resolve(message.get("content", ""))
        if content:
            parts.append(self.markdown(content))
        plain_embeds = []
        for embed in message.get("embeds", []):
            lines = []
            if embed.get("title"):
                lines.append(Text(self.markdown(embed["title"]).plain, style="bold"))
            if embed.get("description"):
                lines.append(self.markdown(embed["description"]))
            for item in embed.get("fields", []):
                lines.append(Text(f"{item['name']}: ", style="bold") + self.markdown(item["value"]))
            if embed.get("footer", {}).get("text"):
                lines.append(Text(embed["footer"]["text"], style="dim"))
            parts.append(Panel(Group(*lines), border_style="magenta", expand=False))
            plain_embeds.append(
                {"title": embed.get("title"), "description": self.resolve(embed.get("description", ""))}
            )
        buttons = [c.get("label", "") for row in message.get("components", []) for c in row.get("components", [])]
        if buttons:
            parts.append(Text("  ".join(f"[ {label} ]" for label in buttons), style="cyan"))
        files = [a["filename"] for a in message.get("attachments", [])]
        if files:
            parts.append(Text("📎 " + ", ".join(files), style="green"))
        author = message.get("author") or "Vestry"
        if isinstance(author, dict):
            author = author.get("username", "Vestry")
        self.console.print(Panel(Group(*parts), title=f"#{channel} · {author}", title_align="left", expand=False))
        return {"channel": channel, "content": content, "embeds": plain_embeds, "buttons": buttons, "files": files}

    async def join_and_link(self, notes: list[str]) -> None:
        """Dana joins the server and links GitHub through the device flow."""
        await self.client.add_member("dana")
        await self.client.user("dana")
        body = {"member": "dana", "command": "link", "options": {}, "locale": self.locale}
        result = await self.client.post("/discord/commands", body)
        codes = self.sandbox.github.pending_device_codes()
        if codes:
            notes.append(
                self.say(
                    "/link answered dana privately with the code {code}; dana approves it on GitHub", code=codes[-1]
                )
            )
            await self.client.post("/github/device/approve", {"user_code": codes[-1], "login": "dana"})
        await self.wait_for_link("dana")
        notes.append(_first_text(result))

    async def wait_for_link(self, member: str, timeout: float = 30) -> None:
        """Wait until the device-flow poller has linked the member."""
        deadline = time.monotonic() + timeout
        member_id = self.sandbox.discord.member_id(member)
        while time.monotonic() < deadline:
            linked = await self.sandbox.services.db.fetchval("SELECT 1 FROM links WHERE discord_id = ?", (member_id,))
            if linked:
                return
            await asyncio.sleep(0.2)

    async def first_merge(self, notes: list[str]) -> None:
        """Dana's first pull request is merged by the maintainer."""
        number = await self.client.pull("dana", "Fix a typo in the quickstart")
        await self.client.merge(number, by="maintainer")
        notes.append(self.say("maintainer merged {pull} by dana", pull=f"{REPO}#{number}"))

    async def merge_for_someone_else(self, notes: list[str]) -> None:
        """Erin, not on Discord yet, opens a PR; Dana merges it."""
        await self.client.user("erin")
        number = await self.client.pull("erin", "Add a dark-mode screenshot")
        await self.client.merge(number, by="dana")
        notes.append(
            self.say("dana merged {pull} by erin (erin has not linked a Discord account)", pull=f"{REPO}#{number}")
        )

    async def waiting_review(self, notes: list[str]) -> None:
        """Frank's first PR asks Dana for a review; three days pass."""
        await self.client.user("frank")
        number = await self.client.pull("frank", "Document the config file")
        await self.client.post(f"/github/pulls/{REPO}/{number}/review-requests", {"reviewers": ["dana"]})
        await self.client.settle()
        now = await self.client.clock(advance=3 * 86400)
        text = "frank asked dana to review {pull}; the clock moves on 3 days to {now}"
        notes.append(self.say(text, pull=f"{REPO}#{number}", now=now[:16]))
        await self.client.run_job("reviews.nudge")

    async def digest(self, notes: list[str]) -> None:
        """Move to Friday 16:00 and run the weekly digest."""
        now = datetime.fromisoformat(await self.client.clock(advance=0))
        friday = (now + timedelta(days=(4 - now.weekday()) % 7)).replace(hour=16, minute=0, second=5)
        if friday <= now:
            friday += timedelta(days=7)
        await self.client.post("/github/stars", {"repo": REPO, "user": "erin"})
        await self.client.clock(now=friday.isoformat())
        text = "erin stars the repository; the clock moves to Friday {when} UTC"
        notes.append(self.say(text, when=f"{friday:%Y-%m-%d %H:%M}"))
        await self.client.settle()
        await self.client.run_job("digest.weekly")


def _first_text(result: dict[str, Any]) -> str:
    for response in result.get("responses", []):
        if response.get("content"):
            return "/link → " + response["content"].splitlines()[0]
        for embed in response.get("embeds", []):
            return "/link → " + (embed.get("title") or embed.get("description", ""))
    return "/link answered"


async def show_hall_of_fame(sandbox: Sandbox, console: Console, stay: bool) -> None:
    """Say who the hall of fame lists, and end with where to open it."""
    web = sandbox.ready_info.get("web")
    if not web:
        return
    async with aiohttp.ClientSession() as session, session.get(f"{web}/api/contributors?sort=first") as response:
        people = [person["login"] for person in (await response.json())["contributors"]]
    console.print(f"The hall of fame lists {len(people)} people: {', '.join(people)}.")
    if stay:
        console.print(f"The sandbox keeps running (Ctrl-C stops it). Control API: {sandbox.control_url}")
    console.print(f"open {web}/ to see the hall of fame", markup=False, highlight=False)


def run_demo_cli(json_file: str | None, keep_running: bool, locale: str | None = None) -> int:
    """Run ``vestry demo`` (``locale``: tell the story, and let the bot post, in that Discord locale)."""
    console = Console()

    async def main() -> int:
        started = time.monotonic()
        sandbox = Sandbox(overrides={"discord": {"locale": locale}} if locale else None)
        await sandbox.start()
        try:
            async with ControlClient(sandbox.control_url) as client:
                demo = Demo(sandbox, client, console, locale or "en-US")
                await demo.run()
                console.rule()
                console.print(f"[bold green]Demo finished in {time.monotonic() - started:.1f}s.[/bold green]")
                if json_file:
                    Path(json_file).write_text(json.dumps(demo.transcript.steps, indent=2), encoding="utf-8")
                    console.print(f"Transcript written to {json_file}")
                stay = keep_running or sys.stdin.isatty()
                await show_hall_of_fame(sandbox, console, stay)
                if stay:
                    await asyncio.Event().wait()
        finally:
            await sandbox.stop()
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
