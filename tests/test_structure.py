"""The shape of the package, asserted from its own source.

The folders are the pipeline's stages (see ``docs/ARCHITECTURE.md``); these tests
keep them so: no import cycle, no import from a lower stage up to a higher one, no
module too long to read in one sitting, every CLI command documented in the
README, and every error of the project in the one tree that ``errors.py`` lists.
The import tests read the modules with :mod:`ast`, so they see every import, even
those deferred inside functions, without running any of them. So does the
check that SQL lives in ``infolettre/store`` only.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "infolettre"
MAX_LINES = 400

# The stages, lowest first. A module belongs to the longest prefix that names it;
# a module may import from its own layer or from a lower one, never a higher one.
LAYERS: dict[str, int] = {
    "infolettre": 0,  # core: errors, words, fsutil, config, typography, ...
    "infolettre.theme": 0,
    "infolettre.store": 1,
    "infolettre.content": 2,
    "infolettre.edition": 3,
    "infolettre.audience": 4,
    "infolettre.delivery": 5,
    "infolettre.web": 6,
    "infolettre.cli": 7,
    "infolettre.__main__": 7,  # ``python -m infolettre`` is the CLI's entry point
}
LAYER_NAMES = ["core", "store", "content", "edition", "audience", "delivery", "web", "cli"]


@dataclass(frozen=True)
class Import:
    """One import statement of a module, resolved to the module it loads."""

    source: str
    target: str
    line: int
    at_import_time: bool  # False inside a function, a class or ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(tree: ast.Module) -> list[tuple[ast.stmt, bool]]:
    """Every import statement of ``tree``, with whether it runs when the module loads."""
    found: list[tuple[ast.stmt, bool]] = []

    def visit(node: ast.AST, now: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, now))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                    ast.ClassDef)):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit_one(stmt, False)
                for stmt in child.orelse:
                    visit_one(stmt, now)
            else:
                visit(child, now)

    def visit_one(stmt: ast.stmt, now: bool) -> None:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            found.append((stmt, now))
        else:
            wrapper = ast.Module(body=[stmt], type_ignores=[])
            visit(wrapper, now)

    visit(tree, True)
    return found


def _resolve(module: str, path: Path, node: ast.stmt) -> list[str]:
    """The infolettre modules an import statement loads (no implied parent packages).

    ``from .base import X`` in ``transports/smtp.py`` is an edge to
    ``transports.base`` only: Python runs ``transports/__init__`` first, but counting
    that would make every package whose ``__init__`` gathers its submodules look
    like a cycle. ``from . import tokens`` is an edge to the submodule ``tokens``
    when it is one, to the package ``__init__`` otherwise.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names
                if alias.name == "infolettre" or alias.name.startswith("infolettre.")]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base != "infolettre" and not base.startswith("infolettre."):
        return []
    targets = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        targets.append(sub if sub in MODULES else base)
    return sorted(set(targets))


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, now in _statements(tree):
            for target in _resolve(module, path, node):
                if target != module:
                    found.append(Import(module, target, node.lineno, now))
    return found


IMPORTS = _imports()


def _layer(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} is outside the package")


def _cycles(edges: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Each knot of modules that reach one another (a strongly connected component
    of more than one, by Tarjan's algorithm): a closed path through it, and all of it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return [(_path_in(component, edges), sorted(component)) for component in components]


def _path_in(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A closed path through ``component``, found breadth-first from its first module."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(edges.get(node, set()) & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"no cycle through {sorted(component)}")


def test_the_parser_sees_the_imports_it_must() -> None:
    """The graph below is only worth its asserts if it holds the known edges."""
    edges = {(i.source, i.target, i.at_import_time) for i in IMPORTS}
    assert ("infolettre.config", "infolettre.errors", True) in edges
    # a relative import of a submodule, and one of a name from a sibling
    assert ("infolettre.audience.consent", "infolettre.audience.tokens", True) in edges
    assert ("infolettre.delivery.transports", "infolettre.delivery.transports.base",
            True) in edges
    # an import deferred inside a function
    assert any(i.source == "infolettre.edition.build" and not i.at_import_time
               and i.target == "infolettre.edition.render" for i in IMPORTS)


def test_every_import_of_the_package_names_one_of_its_modules() -> None:
    """A relative import that climbs wrong (``.errors`` from a new subpackage) shows here."""
    lost = [str(i) for i in IMPORTS if i.target not in MODULES]
    assert not lost, "imports of no module of the package:\n" + "\n".join(lost)


def test_cycle_finder_reports_the_path() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert _cycles(edges) == [(["a", "b", "c", "a"], ["a", "b", "c"])]


def test_no_import_cycle() -> None:
    """Modules import each other in one direction: each can be read, and loaded, alone.

    Imports inside functions and under ``if TYPE_CHECKING:`` do not run when a
    module loads and are left out here; the layer test below still sees them.
    """
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        if imp.at_import_time:
            edges[imp.source].add(imp.target)
    cycles = _cycles(edges)
    assert not cycles, "import cycles (a path, then every module of its knot):\n" + "\n".join(
        f"  {' -> '.join(path)}  [{', '.join(knot)}]" for path, knot in cycles)


def test_no_import_from_a_lower_layer_up_to_a_higher_one() -> None:
    upward = [imp for imp in IMPORTS if _layer(imp.target) > _layer(imp.source)]
    assert not upward, (
        "imports from a lower layer up to a higher one (order: "
        + " < ".join(LAYER_NAMES) + "):\n"
        + "\n".join(f"  {imp} ({LAYER_NAMES[_layer(imp.source)]} -> "
                    f"{LAYER_NAMES[_layer(imp.target)]})" for imp in upward))


def test_every_module_has_a_layer() -> None:
    assert _layer("infolettre.words") == LAYER_NAMES.index("core")
    assert _layer("infolettre.theme") == LAYER_NAMES.index("core")
    assert _layer("infolettre.store") == LAYER_NAMES.index("store")
    assert _layer("infolettre.delivery.transports.smtp") == LAYER_NAMES.index("delivery")
    assert _layer("infolettre.__main__") == LAYER_NAMES.index("cli")
    for module in MODULES:
        assert 0 <= _layer(module) < len(LAYER_NAMES), module


def test_no_module_over_400_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for path in MODULES.values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(long.items()))


def _commands(group: click.Group, prefix: str = "infolettre") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def test_every_cli_command_is_in_the_readme() -> None:
    from infolettre.cli import cli  # here, so that a broken CLI fails this test only

    commands = _commands(cli)
    assert "infolettre subscribers import" in commands  # the walk enters groups
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in commands
               if not re.search(re.escape(name) + r"(?![\w-])", readme)]
    assert not missing, f"commands the README does not show: {', '.join(missing)}"


def _exception_classes() -> dict[str, tuple[str, list[str]]]:
    """Every class of the package, as name -> (module, names of its bases)."""
    classes = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else
                         b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases]
                classes[node.name] = (module, bases)
    return classes


def test_every_public_error_is_in_the_one_tree() -> None:
    """Each public exception derives from InfoLettreError and ``errors.py`` lists it."""
    classes = _exception_classes()

    def is_error(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in {"Exception", "BaseException"} or name.endswith("Error"):
            return True
        _, bases = classes.get(name, ("", []))
        return any(is_error(b, seen | {name}) for b in bases if b not in seen)

    def in_tree(name: str) -> bool:
        if name == "InfoLettreError":
            return True
        _, bases = classes.get(name, ("", []))
        return any(in_tree(b) for b in bases if b in classes)

    errors = sorted(name for name, (_, bases) in classes.items()
                    if not name.startswith("_") and any(is_error(b) for b in bases))
    assert "TransportError" in errors
    outside = [f"{classes[n][0]}.{n}" for n in errors if not in_tree(n)]
    assert not outside, f"errors outside the InfoLettreError tree: {outside}"
    listed = ast.get_docstring(ast.parse((PACKAGE / "errors.py").read_text("utf-8"))) or ""
    unlisted = [n for n in errors if not re.search(rf"\b{n}\b", listed)]
    assert not unlisted, f"errors.py's docstring does not list: {unlisted}"


# -- SQL lives in the store ------------------------------------------------------------------
#: Statements of SQL, written as the project writes them (keywords in capitals). Each
#: pattern needs the shape of a statement, so that an HTTP method ("DELETE") or a
#: word of prose does not count.
_SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bSELECT\s+(1|count|min|max)\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b"
    r"|\bUPDATE\s+[\w.]+\s+SET\b|\bDELETE\s+FROM\b|\bREPLACE\s+INTO\b"
    r"|\b(CREATE|DROP|ALTER)\s+(TEMP\s+|TEMPORARY\s+|UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bPRAGMA\s+\w+|\bBEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION)\b"
    r"|^\s*(COMMIT|ROLLBACK)\s*$|\bWHERE\s+\w+(\.\w+)?\s*(=|IN\b|<|>)", re.DOTALL)
_EXECUTE = {"execute", "executemany", "executescript"}


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes of a module, its classes and functions (prose)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                found.add(id(body[0].value))
    return found


def _sql_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) of each statement call, use of a store's connection (``.conn``)
    and SQL string literal in ``source``.

    An f-string counts by its literal parts joined, so ``f"SELECT {cols} FROM t"``
    is seen; docstrings are prose and do not count.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)  # prose, and the literal parts of f-strings (seen whole)
    skip |= {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for v in node.values}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _EXECUTE):
            found.append((node.lineno, f"calls {node.func.attr}()"))
        elif isinstance(node, ast.Attribute) and node.attr == "conn":
            found.append((node.lineno, "reaches the store's connection (.conn)"))
        elif isinstance(node, ast.JoinedStr):
            text = " ".join(v.value for v in node.values
                            if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if _SQL.search(text):
                found.append((node.lineno, f"holds SQL: {text[:60]!r}"))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in skip and _SQL.search(node.value)):
            found.append((node.lineno, f"holds SQL: {node.value[:60]!r}"))
    return sorted(set(found))


def test_the_sql_finder_sees_what_it_must() -> None:
    """The check below is only worth its assert if it catches the forms SQL takes."""
    source = '''
"""A docstring may say UPDATE deliveries SET state = 'sent' WHERE id = 1."""
def f(conn, cols, table):
    conn.execute(QUERY)
    conn.executemany(QUERY, [])
    q = ("SELECT id FROM campaigns "
         "WHERE issue = ?")
    r = f"SELECT {cols} FROM {table} WHERE id = ?"
    s = "INSERT OR IGNORE INTO temp.import_seen VALUES (?)"
    t = "DELETE FROM meta"
    u = "CREATE TEMP TABLE IF NOT EXISTS t (a)"
    v = "PRAGMA wal_checkpoint(TRUNCATE)"
    w = "UPDATE subscribers SET status = ?"
    ok = ("DELETE", "Select a list", "update the subscribers", "FROM", "COMMIT to it")
    store.conn.close()
'''
    lines = [line for line, _ in _sql_uses(source)]
    assert 4 in lines and 5 in lines and 15 in lines  # the calls, the connection
    assert {6, 8, 9, 10, 11, 12, 13} <= set(lines)  # every literal, f-string included
    assert len([line for line in lines if line == 8]) == 1  # an f-string is seen once
    assert 2 not in lines and 14 not in lines  # prose and an HTTP method are not SQL


def test_raw_sql_lives_in_the_store_only() -> None:
    """Only ``infolettre.store`` runs statements, holds its connection or writes SQL,
    so that another database (PostgreSQL) is another store, and the rest of the
    package does not change."""
    outside = [f"{path.relative_to(ROOT)}:{line} {what}"
               for module, path in MODULES.items()
               if module != "infolettre.store" and not module.startswith("infolettre.store.")
               for line, what in _sql_uses(path.read_text(encoding="utf-8"))]
    assert not outside, "SQL outside infolettre/store:\n" + "\n".join(outside)
