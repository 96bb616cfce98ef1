"""A lint rule: SQL text is built only from constants; every value goes through a ``?`` placeholder.

It follows the SQL argument of every ``execute``/``fetch*`` call (and of every helper that passes one of its own
parameters on as SQL) back through local variables, module constants, f-strings, concatenation, ``str.join``,
``str.format``, conditional expressions and the return values of functions in the same module. Text built from
constants (``"... AND repo IN (" + ",".join("?" * len(repos)) + ")"``) passes; anything else — a parameter, an
attribute, a call it cannot see into — is reported with its file and line. A helper whose parameter becomes SQL is
checked at each of its call sites instead, anywhere in the scanned tree.

Run it alone with ``python -m tests.reliability.sql_lint bot cogs``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.sql_flow import Analysis, Function, Module, Unsafe, bind

SINKS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "fetchone",
        "fetchall",
        "fetchval",
        "execute_fetchall",
        "execute_insert",
        "execute_returning",
    }
)
# Vetted exceptions: (file suffix, function) -> why it may execute non-constant SQL.
ALLOWED = {
    ("bot/db/__init__.py", "migrate"): "runs the statements of the bundled migration files",
}


@dataclass
class Finding:
    """One place where SQL text may contain a value."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def sql_argument(call: ast.Call) -> ast.expr | None:
    """The SQL text a sink call receives."""
    for keyword in call.keywords:
        if keyword.arg == "sql":
            return keyword.value
    return call.args[0] if call.args else None


def callee_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def enclosing(module: Module, target: ast.AST) -> Function | None:
    """The innermost function holding ``target``."""
    best = None
    for functions in module.functions.values():
        for function in functions:
            node = function.node
            if node.lineno <= target.lineno <= (node.end_lineno or node.lineno) and (  # type: ignore[attr-defined]
                best is None or node.lineno >= best.node.lineno
            ):
                best = function
    return best


def check(paths: Iterable[Path], root: Path) -> list[Finding]:
    """Report every sink whose SQL text may hold a value."""
    modules: dict[str, Module] = {}
    for path in sorted(paths):
        module = Module(str(path.relative_to(root)), ast.parse(path.read_text(encoding="utf-8")))
        module.index()
        modules[module.path] = module
    helpers: dict[int, set[str]] = {}  # id(function node) -> parameters that must be given constant SQL
    owners: dict[int, tuple[Module, Function]] = {}
    callers: dict[int, int] = {}
    findings: list[Finding] = []
    for _ in range(6):  # helpers of helpers: until nothing new is learned
        before = {key: set(params) for key, params in helpers.items()}
        findings, callers = [], {}
        for module in modules.values():
            for call in (n for n in ast.walk(module.tree) if isinstance(n, ast.Call)):
                function = enclosing(module, call)
                arguments = _sql_arguments(call, module, function, modules, helpers, callers)
                if not arguments or _trusted(module, function):
                    continue
                for argument in arguments:
                    try:
                        needed = Analysis(function, module).deps(argument)
                    except Unsafe as exc:
                        findings.append(Finding(module.path, call.lineno, f"SQL text is not constant: {exc}"))
                        continue
                    if needed and function is not None:
                        helpers.setdefault(id(function.node), set()).update(needed)
                        owners[id(function.node)] = (module, function)
        if helpers == before:
            break
    for key, params in helpers.items():
        module, function = owners[key]
        names = ", ".join(sorted(params))
        if not function.node.name.startswith("_"):
            # Callers outside the scanned code (or through objects the rule cannot follow) could pass anything.
            problem = f"public {function.node.name}() puts its parameter(s) {names} into SQL text"
        elif not callers.get(key):
            problem = f"{function.node.name}() puts {names} into SQL text and no call site shows it is constant"
        else:
            continue
        findings.append(Finding(module.path, function.node.lineno, problem))
    return findings


def _trusted(module: Module, function: Function | None) -> bool:
    if function is None:
        return False
    if module.path.startswith("bot/db") and function.node.name in SINKS:
        return True  # the Database wrappers themselves: their callers are the sinks
    return any(module.path.endswith(path) and function.node.name == name for path, name in ALLOWED)


def _sql_arguments(
    call: ast.Call,
    module: Module,
    function: Function | None,
    modules: dict[str, Module],
    helpers: dict[int, set[str]],
    callers: dict[int, int],
) -> list[ast.expr]:
    """The SQL text a call passes: to an execute/fetch method, or to a helper's SQL parameters."""
    if callee_name(call) in SINKS:
        found = sql_argument(call)
        return [found] if found is not None else []
    arguments = []
    for callee in resolve(call, module, function, modules):
        needed = helpers.get(id(callee.node))
        if needed:
            callers[id(callee.node)] = callers.get(id(callee.node), 0) + 1
            bound = bind(callee, call) if isinstance(call.func, ast.Attribute) else _bind_plain(callee, call)
            arguments += [bound[name] for name in sorted(needed) if name in bound]
    return arguments


def _bind_plain(callee: Function, call: ast.Call) -> dict[str, ast.expr]:
    args = callee.node.args
    names = [a.arg for a in [*args.posonlyargs, *args.args]]
    bound = dict(zip(names, call.args, strict=False))
    bound.update({k.arg: k.value for k in call.keywords if k.arg is not None})
    return bound


def resolve(call: ast.Call, module: Module, function: Function | None, modules: dict[str, Module]) -> list[Function]:
    """The functions a call may reach: same-module functions, methods through self, imported functions."""
    func = call.func
    if isinstance(func, ast.Name):
        local = [f for f in module.functions.get(func.id, []) if f.cls is None]
        if local:
            return local
        target = module.imports.get(func.id)
        if target is not None and target[1] is not None:
            return _module_functions(modules, target[0], target[1])
        return []
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = func.value.id
        if owner in ("self", "cls") and function is not None:
            return [f for f in module.functions.get(func.attr, []) if f.cls is function.cls]
        target = module.imports.get(owner)
        if target is not None:
            path = target[0] if target[1] is None else f"{target[0]}/{target[1]}"
            return _module_functions(modules, path, func.attr)
    return []


def _module_functions(modules: dict[str, Module], dotted_path: str, name: str) -> list[Function]:
    for candidate in (f"{dotted_path}.py", f"{dotted_path}/__init__.py"):
        module = modules.get(candidate)
        if module is not None:
            return [f for f in module.functions.get(name, []) if f.cls is None]
    return []


def scan(*folders: str, root: Path | None = None) -> list[Finding]:
    """Check every Python file under the folders (relative to the project root)."""
    root = root or Path(__file__).resolve().parents[2]
    files = [path for folder in folders for path in (root / folder).rglob("*.py") if "sandbox" not in path.parts]
    return check(files, root)


if __name__ == "__main__":
    problems = scan(*(sys.argv[1:] or ["bot", "cogs"]))
    for problem in problems:
        print(problem)
    raise SystemExit(1 if problems else 0)
