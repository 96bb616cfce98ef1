"""Read and validate the TOML settings file and the secrets from the environment."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.config.models import Settings


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: where, and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(Exception):
    """The configuration is not usable; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], source: str = "configuration") -> None:
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        """Describe every problem, one per line."""
        lines = [f"{self.source} has {len(self.problems)} problem(s):"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1 if parts else 0 : None] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """Find the model class that owns the table at ``loc`` (for "did you mean")."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _describe(error: Mapping[str, Any]) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        name = str(loc[-1])
        message = "unknown key"
        if owner is not None:
            close = difflib.get_close_matches(name, list(owner.model_fields), n=1)
            if close:
                message += f' (did you mean "{close[0]}"?)'
            else:
                message += "; known keys: " + ", ".join(owner.model_fields)
        return Problem(_key_path(loc), message)
    if kind == "missing":
        return Problem(_key_path(loc), "required key is missing")
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind not in {"value_error", "assertion_error"}:
        message += f" (got {error.get('input')!r})"
    return Problem(_key_path(loc), message)


_KEY = re.compile(r"^[a-z_]+(\.[a-z_]+|\[\d+\])*$")


def _split(problem: Problem) -> list[Problem]:
    """Unfold a check over several keys (one "key: message" per line) into one problem per key."""
    if problem.path:
        return [problem]
    found = []
    for line in problem.message.splitlines():
        key, _, message = line.partition(": ")
        found.append(Problem(key, message) if message and _KEY.match(key) else Problem("", line))
    return found


def parse_settings(data: Mapping[str, Any], source: str = "configuration") -> Settings:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [problem for error in exc.errors() for problem in _split(_describe(error))]
        raise ConfigError(problems, source) from None


def load_settings(path: str | Path) -> Settings:
    """Read and validate the TOML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem("", f"file not found: {path}")], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem("", f"cannot read {path}: {exc}")], str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem("", f"not valid TOML: {exc}")], str(path)) from None
    return parse_settings(data, str(path))
