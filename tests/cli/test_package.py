"""cli: the package imports in one direction, and only its entry point ends the process.

The package's ``__init__`` builds the group from the command modules; were a
command module to import the package back (as each did, to reach the group),
the command line would be an import cycle again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import click

import infolettre

PACKAGE = Path(infolettre.__file__).resolve().parent
CLI = PACKAGE / "cli"


def _imported(path: Path) -> list[str]:
    """The modules ``path`` imports, absolute, as dotted names (``from . import x`` gives
    ``infolettre.cli.x`` when x is a module of the package, else ``infolettre.cli``)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            if node.module is None:
                folder = PACKAGE.parent.joinpath(*module.split("."))
                for alias in node.names:
                    is_module = (folder / f"{alias.name}.py").exists() or \
                        (folder / alias.name / "__init__.py").exists()
                    found.append(f"{module}.{alias.name}" if is_module else module)
            else:
                found.append(module)
    return found


def test_no_command_module_imports_the_cli_package() -> None:
    modules = sorted(p for p in CLI.glob("*.py") if p.name != "__init__.py")
    for path in modules:
        imported = _imported(path)
        assert "infolettre.cli" not in imported, f"{path.name} imports the cli package"
        siblings = {m for m in imported if m.startswith("infolettre.cli.")}
        allowed = set() if path.stem == "common" else {"infolettre.cli.common"}
        assert siblings <= allowed, f"{path.name} imports {sorted(siblings - allowed)}"
    assert {p.stem for p in modules} >= {"common", "issue", "send", "serve", "subscribers"}


def test_the_package_registers_every_command_its_modules_define() -> None:
    import importlib
    import pkgutil

    import infolettre.cli
    from infolettre.cli import COMMANDS, cli

    modules = [importlib.import_module(f"infolettre.cli.{m.name}")
               for m in pkgutil.iter_modules(infolettre.cli.__path__)]
    defined, below_a_group = set(), set()
    for module in modules:  # every module, so that a new one cannot be forgotten
        for value in vars(module).values():
            if isinstance(value, click.Command):
                defined.add(value)
            if isinstance(value, click.Group):
                below_a_group |= set(value.commands.values())
    assert defined - below_a_group == set(COMMANDS) == set(cli.commands.values())


def _exits(path: Path) -> list[str]:
    """Where ``path`` calls or names ``sys.exit``/``SystemExit``, as 'function:line'."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                else function
            exits = (isinstance(child, ast.Attribute) and child.attr == "exit"
                     and isinstance(child.value, ast.Name) and child.value.id == "sys") or \
                (isinstance(child, ast.Name) and child.id == "SystemExit") or \
                (isinstance(child, ast.ImportFrom) and child.module == "sys"
                 and any(alias.name == "exit" for alias in child.names))
            if exits:
                found.append(f"{function}:{child.lineno}")
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_only_the_entry_point_may_end_the_process() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        exits = _exits(path)
        if path == CLI / "__init__.py":
            exits = [e for e in exits if not e.startswith("main:")]
        if exits:
            offenders[str(path.relative_to(PACKAGE))] = exits
    assert offenders == {}
