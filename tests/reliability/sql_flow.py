"""The data flow behind sql_lint: which function parameters an expression's text depends on, or that it may hold
any value at all (Unsafe)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# str methods whose result is as constant as the receiver and arguments.
STR_METHODS = frozenset(
    {"join", "format", "strip", "lstrip", "rstrip", "lower", "upper", "replace", "removeprefix", "removesuffix"}
)
NUMERIC = frozenset({"int", "len", "float", "bool", "min", "max", "abs", "round"})
PASSING = frozenset({"str", "tuple", "list", "sorted", "reversed"})


@dataclass
class Function:
    """A function or method and where it lives."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    module: Module
    cls: ast.ClassDef | None

    @property
    def params(self) -> list[str]:
        args = self.node.args
        names = [a.arg for a in [*args.posonlyargs, *args.args]]
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in self.node.decorator_list)
        return names[1:] if self.cls is not None and not static and names[:1] in (["self"], ["cls"]) else names

    @property
    def all_params(self) -> set[str]:
        args = self.node.args
        return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}


@dataclass
class Module:
    """A parsed source file."""

    path: str
    tree: ast.Module
    functions: dict[str, list[Function]] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (module path, name)

    def index(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module.replace(".", "/")
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (base, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = (alias.name.replace(".", "/"), None)
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.constants[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.constants[node.target.id] = node.value
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        self.functions.setdefault(item.name, []).append(Function(item, self, node))
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(Function(node, self, None))


class Unsafe(Exception):
    """The expression may carry a value into SQL text."""


class Analysis:
    """Decide, for expressions inside one function, which parameters they depend on (or that they are unsafe)."""

    def __init__(self, function: Function | None, module: Module, depth: int = 0) -> None:
        self.function = function
        self.module = module
        self.depth = depth
        self.bound: dict[str, frozenset[str]] = {}

    def deps(self, node: ast.AST | None) -> frozenset[str]:
        """Parameters of the function that the text depends on; raise Unsafe if it may hold any other value."""
        if self.depth > 12:
            raise Unsafe("too deep to follow")
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsafe(f"cannot follow {type(node).__name__} `{ast.unparse(node)[:60]}`" if node else "nothing")
        return method(node)  # type: ignore[no-any-return]

    def many(self, nodes: Iterable[ast.AST | None]) -> frozenset[str]:
        found: frozenset[str] = frozenset()
        for node in nodes:
            found |= self.deps(node)
        return found

    def element(self, node: ast.expr, path: tuple[int, ...]) -> frozenset[str]:
        """Dependencies of the item at ``path`` inside a tuple-valued expression."""
        if not path:
            return self.deps(node)
        index, rest = path[0], path[1:]
        if isinstance(node, ast.Tuple | ast.List) and not any(isinstance(e, ast.Starred) for e in node.elts):
            return self.element(node.elts[index], rest) if index < len(node.elts) else frozenset()
        if isinstance(node, ast.IfExp):
            return self.element(node.body, path) | self.element(node.orelse, path)
        if isinstance(node, ast.Call):
            callee = self._callee(node.func)
            if callee is not None:
                inner = Analysis(callee, callee.module, self.depth + 1)
                returns = [n.value for n in ast.walk(callee.node) if isinstance(n, ast.Return) and n.value is not None]
                needed: frozenset[str] = frozenset()
                for value in returns:
                    needed |= inner.element(value, path)
                return self._arguments(callee, node, needed)
        return self.deps(node)

    def _Constant(self, node: ast.Constant) -> frozenset[str]:
        return frozenset()

    def _JoinedStr(self, node: ast.JoinedStr) -> frozenset[str]:
        return self.many(v.value for v in node.values if isinstance(v, ast.FormattedValue))

    def _BinOp(self, node: ast.BinOp) -> frozenset[str]:
        if isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, str):
                    return frozenset()  # a constant repeated (``"?" * len(values)``)
        if isinstance(node.op, ast.Add | ast.Mod | ast.Mult):
            return self.many((node.left, node.right))
        raise Unsafe(f"operator {type(node.op).__name__}")

    def _IfExp(self, node: ast.IfExp) -> frozenset[str]:
        return self.many((node.body, node.orelse))

    def _BoolOp(self, node: ast.BoolOp) -> frozenset[str]:
        return self.many(node.values)

    def _Tuple(self, node: ast.Tuple) -> frozenset[str]:
        return self.many(node.elts)

    _List = _Tuple
    _Set = _Tuple

    def _Dict(self, node: ast.Dict) -> frozenset[str]:
        return self.many(node.values)

    def _Subscript(self, node: ast.Subscript) -> frozenset[str]:
        return self.deps(node.value)  # an item chosen from constants is a constant

    def _Starred(self, node: ast.Starred) -> frozenset[str]:
        return self.deps(node.value)

    def _comprehension(self, node: ast.GeneratorExp | ast.ListComp | ast.SetComp) -> frozenset[str]:
        saved = dict(self.bound)
        try:
            for generator in node.generators:
                source = self.deps(generator.iter)
                for name in ast.walk(generator.target):
                    if isinstance(name, ast.Name):
                        self.bound[name.id] = source
            return self.deps(node.elt)
        finally:
            self.bound = saved

    _GeneratorExp = _comprehension
    _ListComp = _comprehension
    _SetComp = _comprehension

    def _Call(self, node: ast.Call) -> frozenset[str]:
        args = [*node.args, *(k.value for k in node.keywords)]
        func = node.func
        if isinstance(func, ast.Name) and func.id in NUMERIC:
            return frozenset()
        if isinstance(func, ast.Name) and func.id in PASSING:
            return self.many(args)
        if isinstance(func, ast.Attribute) and func.attr in STR_METHODS:
            return self.deps(func.value) | self.many(args)
        callee = self._callee(func)
        if callee is None:
            raise Unsafe(f"calls `{ast.unparse(func)}`, which the rule cannot see into")
        inner = Analysis(callee, callee.module, self.depth + 1)
        returns = [n.value for n in ast.walk(callee.node) if isinstance(n, ast.Return) and n.value is not None]
        if not returns:
            raise Unsafe(f"`{ast.unparse(func)}` returns nothing the rule can check")
        needed = inner.many(returns)
        return self._arguments(callee, node, needed)

    def _arguments(self, callee: Function, call: ast.Call, needed: frozenset[str]) -> frozenset[str]:
        """The caller's own dependencies, from the arguments passed for the parameters the callee needs safe."""
        found: frozenset[str] = frozenset()
        for name, value in bind(callee, call).items():
            if name in needed:
                found |= self.deps(value)
        return found

    def _callee(self, func: ast.expr) -> Function | None:
        if isinstance(func, ast.Name):
            candidates = [f for f in self.module.functions.get(func.id, []) if f.cls is None]
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            cls = self.function.cls if self.function else None
            candidates = [f for f in self.module.functions.get(func.attr, []) if f.cls is cls]
        else:
            return None
        return candidates[0] if len(candidates) == 1 else None

    def _Name(self, node: ast.Name) -> frozenset[str]:
        name = node.id
        if name in self.bound:
            return self.bound[name]
        function = self.function
        if function is not None:
            values = list(local_bindings(function.node, name))
            if values:
                saved, self.depth = self.depth, self.depth + 1
                try:
                    found: frozenset[str] = frozenset()
                    for value, path in values:
                        found |= self.element(value, path)
                    return found
                finally:
                    self.depth = saved
            if name in function.all_params:
                return frozenset({name})
        if name in self.module.constants:
            return Analysis(None, self.module, self.depth + 1).deps(self.module.constants[name])
        if name.isupper():
            return frozenset()  # an imported module constant, by convention (checked where it is defined)
        raise Unsafe(f"`{name}` is not a constant")

    def _Attribute(self, node: ast.Attribute) -> frozenset[str]:
        if node.attr.isupper():
            return frozenset()  # a class or module constant
        raise Unsafe(f"`{ast.unparse(node)}` is not a constant")


def local_bindings(function: ast.AST, name: str) -> Iterator[tuple[ast.expr, tuple[int, ...]]]:
    """Every value assigned to ``name`` in a function (nested functions excluded), with the position inside the
    value that an unpacking assignment takes (``sql, params = helper()`` takes item 0 of what helper returns)."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _unpack(target, node.value, name, ())
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name) and node.target.id == name:
                yield node.value, ()
        elif isinstance(node, ast.For | ast.AsyncFor):
            # Every item of the iterable must be constant: follow the whole iterable.
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)):
                yield node.iter, ()
        elif isinstance(node, ast.NamedExpr) and node.target.id == name:
            yield node.value, ()


def _unpack(
    target: ast.expr, value: ast.expr, name: str, path: tuple[int, ...]
) -> Iterator[tuple[ast.expr, tuple[int, ...]]]:
    if isinstance(target, ast.Name):
        if target.id == name:
            yield value, path
    elif isinstance(target, ast.Tuple | ast.List):
        for index, sub_target in enumerate(target.elts):
            yield from _unpack(sub_target, value, name, (*path, index))


def bind(callee: Function, call: ast.Call) -> dict[str, ast.expr]:
    """Map the callee's parameter names to the expressions a call passes."""
    bound = dict(zip(callee.params, call.args, strict=False))
    bound.update({k.arg: k.value for k in call.keywords if k.arg is not None})
    return bound
