"""A Babel extractor for cogs: the command strings Discord localises, plus the ordinary gettext calls.

Command names, descriptions, parameter names and descriptions, choice names and context-menu names are written
as plain strings in decorators and docstrings; discord.py's translator asks for each of them when the commands
are synced. This finds them in the source (names under the ``command name`` / ``menu name`` contexts, whose
rules differ from prose) so that ``pybabel extract`` puts them in the catalogue with everything else.
"""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterator
from typing import IO, Any

from babel.messages.extract import extract_python

COMMAND_NAME = "command name"
MENU_NAME = "menu name"
Found = tuple[int, str, str | tuple[str, str], list[str]]
_SKIPPED_PARAMETERS = {"self", "interaction", "cls"}


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _keywords(call: ast.Call) -> dict[str, ast.AST]:
    return {item.arg: item.value for item in call.keywords if item.arg}


def _from_call(call: ast.Call) -> Iterator[Found]:
    name, keywords, line = _call_name(call.func), _keywords(call), call.lineno
    if name in ("command", "Group"):
        if (found := _string(keywords.get("name"))) is not None:
            yield line, "pgettext", (COMMAND_NAME, found), []
        if (found := _string(keywords.get("description"))) is not None:
            yield line, "gettext", found, []
    elif name in ("context_menu", "ContextMenu"):
        if (found := _string(keywords.get("name"))) is not None:
            yield line, "pgettext", (MENU_NAME, found), []
    elif name == "describe":
        for parameter, value in keywords.items():
            yield line, "pgettext", (COMMAND_NAME, parameter), []
            if (found := _string(value)) is not None:
                yield line, "gettext", found, []
    elif name == "Choice" and (found := _string(keywords.get("name"))) is not None:
        yield line, "gettext", found, []


def _from_command(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Found]:
    decorators = [d for d in function.decorator_list if isinstance(d, ast.Call)]
    if not any(_call_name(d.func) == "command" for d in decorators):
        return
    command = next(d for d in decorators if _call_name(d.func) == "command")
    if "name" not in _keywords(command):
        yield function.lineno, "pgettext", (COMMAND_NAME, function.name), []
    docstring = ast.get_docstring(function)
    if docstring and "description" not in _keywords(command):
        # discord.py describes a command by its docstring's first paragraph, on one line
        yield function.lineno, "gettext", " ".join(re.split(r"\n\s*\n", docstring, maxsplit=1)[0].split()), []
    described = {key for d in decorators if _call_name(d.func) == "describe" for key in _keywords(d)}
    for argument in function.args.args[1:] + function.args.kwonlyargs:
        if argument.arg not in _SKIPPED_PARAMETERS and argument.arg not in described:
            yield function.lineno, "pgettext", (COMMAND_NAME, argument.arg), []


def command_strings(source: str) -> list[Found]:
    """Return the localisable command strings of a cog's source, in line order."""
    found: list[Found] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found += _from_call(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += _from_command(node)
    return sorted(found, key=lambda item: item[0])


def extract_cog(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[Found]:
    """Babel extraction method for ``cogs/**.py``: command strings, then the usual gettext calls."""
    data = fileobj.read()
    yield from command_strings(data.decode("utf-8"))
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)  # type: ignore[misc]
