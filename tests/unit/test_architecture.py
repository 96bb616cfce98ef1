"""The house's joints: imports go one way, and services stand on their own."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imported(tree: ast.AST) -> Iterator[str]:
    """Every module an import statement names, anywhere (TYPE_CHECKING blocks and functions included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_import_graph_of_the_bot_and_its_cogs_has_no_cycle() -> None:
    graph = _graph()
    assert len(graph) > 150, "the scan found the modules, the sandbox included"
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_services_import_neither_discord_nor_the_composition_root() -> None:
    forbidden = ("discord", "bot.app", "bot.context", "bot.features", "cogs")
    offenders = []
    for path in ROOT.glob("bot/services/**/*.py"):
        for target in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if any(target == name or target.startswith(name + ".") for name in forbidden):
                offenders.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not offenders, offenders


def test_nothing_in_the_bot_looks_a_service_up_by_name() -> None:
    """Cogs reach services through the typed context (``services.features.ladder``), never a name in a dict."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]
        if ".feature(" in path.read_text(encoding="utf-8") or "features[" in path.read_text(encoding="utf-8")
    ]
    assert not offenders, offenders


def test_no_module_of_the_bot_or_its_cogs_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"split these by concern: {long}"


def test_no_cog_reaches_into_another() -> None:
    """Each cog adds its own /vestry subcommands through the bot; none looks another cog up."""
    offenders = [str(path.relative_to(ROOT)) for path in ROOT.glob("cogs/*.py") if "get_cog(" in path.read_text()]
    assert not offenders, offenders


def test_outside_the_services_a_service_is_reached_through_its_package_only() -> None:
    """A service package's ``__init__`` is its one public surface: nothing outside reaches into its modules."""
    offenders = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]:
        if path.is_relative_to(ROOT / "bot" / "services"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)} imports {name}"
                for name in names
                if name.count(".") > 2 and name.startswith("bot.services.")
            ]
    assert not offenders, offenders
