"""The package's imports against the map in docs/architecture.md, read from the doc itself.

Every module of `claude_router` is parsed (ast, nothing imported) for its imports of our own
modules: at the top, inside functions and under `if TYPE_CHECKING:` alike for the arrows (a
deferred import is still a dependency); only what runs at import time, and then everything, for
the circles. See "What counts as an import" in the doc.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "claude_router"
DOC = ROOT / "docs" / "architecture.md"


# ---- the package's imports ---------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module of ours it imports
    line: int
    at_import_time: bool  # at the top level, outside `if TYPE_CHECKING:`


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt], at_import_time: bool) -> Iterator[tuple[ast.stmt, bool]]:
    """Every statement, nested ones too, with whether it runs when its module is imported."""
    for node in body:
        yield node, at_import_time
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, False)
            yield from _statements(node.orelse, at_import_time)
            continue
        inner = at_import_time and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        blocks = [getattr(node, field, []) for field in ("body", "orelse", "finalbody")]
        blocks += [handler.body for handler in getattr(node, "handlers", [])]
        blocks += [case.body for case in getattr(node, "cases", [])]
        for block in blocks:
            yield from _statements(block, inner)


def _resolve(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules of ours a statement imports (`from .x import y` is `x.y` when `y` is a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level == 0:
            base = node.module or ""
        else:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1])
            base += f".{node.module}" if node.module else ""
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base for alias in node.names
        ]
    for name in names:
        while name and name not in modules():  # `import claude_router.x.y` of a name in x.y
            name = name.rpartition(".")[0]
        if name.startswith(PACKAGE) and name != module:
            yield name


@cache
def imports() -> tuple[Import, ...]:
    found = []
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, at_import_time in _statements(tree.body, True):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _resolve(module, path.name == "__init__.py", node):
                    found.append(Import(module, target, node.lineno, at_import_time))
    return tuple(found)


# ---- the map in the doc ------------------------------------------------------------------------


def table(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table under `heading` in the doc."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def matches(module: str, pattern: str, prefix: str = PACKAGE) -> bool:
    """Whether `pattern` (`x.py`, `x/`, `*/x.py`, `__init__.py`) of the doc names `module`."""
    path = modules()[module].relative_to(SRC / prefix.replace(".", "/")).as_posix()
    return path.startswith(pattern) if pattern.endswith("/") else fnmatch(path, pattern)


@dataclass(frozen=True)
class Room:
    name: str
    patterns: tuple[str, ...]
    arrows: tuple[str, ...]  # the rooms it may import directly


@cache
def rooms() -> tuple[Room, ...]:
    found = []
    for cells in table("## Rooms"):
        name = cells[0].strip("*` ")
        found.append(Room(name, tuple(names(cells[1])), tuple(names(cells[-1]))))
    return tuple(found)


@cache
def room_of(module: str) -> str:
    """The room whose patterns name `module`; a file named outright wins over a folder or a glob."""
    candidates = [
        (not pattern.endswith("/") and "*" not in pattern, len(pattern), room.name)
        for room in rooms()
        for pattern in room.patterns
        if matches(module, pattern)
    ]
    assert candidates, f"{module} is in no room of {DOC.name}: add it to the Rooms table"
    return max(candidates)[2]


@cache
def allowed(room: str) -> frozenset[str]:
    """The rooms `room` may import: its arrows and, through them, theirs."""
    by_name = {r.name: r for r in rooms()}
    seen: set[str] = set()
    todo = list(by_name[room].arrows)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += by_name[name].arrows
    return frozenset(seen)


@cache
def gateway_layer(module: str) -> int:
    for cells in table("### Inside the gateway"):
        if any(matches(module, pattern, f"{PACKAGE}.gateway") for pattern in names(cells[1])):
            return int(cells[0])
    raise AssertionError(f"{module} is in no layer of the gateway in {DOC.name}")


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    graph: dict[str, list[str]] = {m: [] for m in modules()}
    for source, target in edges:
        graph[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            if group:
                found.append(sorted([node, *group]))

    for node in graph:
        if node not in index:
            visit(node)
    return found


# ---- the checks --------------------------------------------------------------------------------


def test_the_doc_names_every_room_once_and_every_arrow_points_up() -> None:
    order = [room.name for room in rooms()]
    assert len(order) == len(set(order)) > 10
    for position, room in enumerate(rooms()):
        for arrow in room.arrows:
            assert arrow in order[:position], f"{room.name} -> {arrow}: not a room above it in the table"
    for module in modules():
        room_of(module)  # every module is in a room


def test_no_import_runs_against_the_arrows() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target} ({room_of(i.source)} -> {room_of(i.target)})"
        for i in imports()
        if room_of(i.source) != room_of(i.target) and room_of(i.target) not in allowed(room_of(i.source))
    ]
    assert not wrong, "\n".join(wrong)


def test_the_gateway_is_layered() -> None:
    gateway = f"{PACKAGE}.gateway"
    wrong = [
        f"{i.source}:{i.line} imports {i.target} "
        f"(layer {gateway_layer(i.source)} -> {gateway_layer(i.target)})"
        for i in imports()
        if i.source.startswith(gateway)
        and i.target.startswith(gateway)
        and gateway_layer(i.target) > gateway_layer(i.source)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("at_import_time", [True, False], ids=["at-import-time", "all-imports"])
def test_no_modules_import_each_other_in_a_circle(at_import_time: bool) -> None:
    edges = {(i.source, i.target) for i in imports() if i.at_import_time or not at_import_time}
    found = cycles(edges)
    assert not found, "modules importing each other in a circle:\n" + "\n".join(map(", ".join, found))


def test_the_walker_sees_every_kind_of_import() -> None:
    """The parser itself: deferred and type-only imports are found, and told apart."""
    found: dict[tuple[str, str], bool] = {}
    for i in imports():
        found[i.source, i.target] = found.get((i.source, i.target), False) or i.at_import_time
    assert found[(f"{PACKAGE}.routing.router", f"{PACKAGE}.types")] is True
    assert found[(f"{PACKAGE}.routing.cache_affinity", f"{PACKAGE}.routing.affinity_store_redis")] is False
    assert found[(f"{PACKAGE}.gateway.state", f"{PACKAGE}.gateway.redis_state")] is False  # TYPE_CHECKING
    assert found[(f"{PACKAGE}.batch.redis_queue", f"{PACKAGE}.batch.redis_keys")] is True  # from . import x
