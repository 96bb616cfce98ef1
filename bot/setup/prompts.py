"""Questions for ``vestry init``: asked in the terminal (rich prompts), or answered by flags when not interactive."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console
from rich.prompt import Confirm, Prompt


class SetupError(Exception):
    """Set-up cannot go on; the message says why and what to do."""


class Asker:
    """Take each answer from its flag when given; else ask (interactive) or use the default (non-interactive)."""

    def __init__(self, console: Console, *, interactive: bool) -> None:
        self.console = console
        self.interactive = interactive

    def text(
        self,
        given: str | None,
        question: str,
        *,
        flag: str,
        default: str | None = None,
        secret: bool = False,
        choices: Sequence[str] | None = None,
        check: Callable[[str], object] | None = None,
    ) -> str:
        """Return a text answer; ``choices`` limits it (any case), ``check`` raises ValueError on a bad one."""
        if given is not None:
            return self._checked(given, flag, choices, check)
        if not self.interactive:
            if default is None:
                raise SetupError(f"{flag} is required with --non-interactive")
            return default
        while True:
            answer = Prompt.ask(
                question, console=self.console, default=default, password=secret, show_default=not secret
            )
            answer = (answer or "").strip()
            if not answer and default != "":
                self.console.print("[red]An answer is needed.[/red]")
                continue
            try:
                return self._checked(answer, flag, choices, check)
            except SetupError as exc:
                self.console.print(f"[red]{exc}[/red]")

    def confirm(self, given: bool | None, question: str, *, default: bool) -> bool:
        """Return a yes/no answer."""
        if given is not None:
            return given
        if not self.interactive:
            return default
        return Confirm.ask(question, console=self.console, default=default)

    @staticmethod
    def _checked(
        answer: str, flag: str, choices: Sequence[str] | None, check: Callable[[str], object] | None = None
    ) -> str:
        answer = answer.strip()
        if check is not None:
            try:
                check(answer)
            except ValueError as exc:
                raise SetupError(f"{flag}: {exc}") from None
        if choices is None:
            return answer
        for choice in choices:
            if choice.casefold() == answer.casefold():
                return choice
        raise SetupError(f"{flag}: {answer!r} is not one of: {', '.join(choices)}")
