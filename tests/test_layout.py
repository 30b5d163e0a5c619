"""The packages of loopcheck import downwards only, in the order below.

A file goes frontends → settings → run → prefilter → engine → rules → analysis/fixes →
reporters, and the run builds the project model (``project``) before the rules' findings get
their evidence from it; the imports follow that pipeline except where a lower stage is the vocabulary of a
higher one: the rules and the fixes import the engine (its ``Rule``, ``LintContext`` and
diagnostics; the engine finds the rules through its registry when a file needs them), the run
and the reporters import its diagnostics, and the engine reads the settings. Only module-level
imports count: those under ``if TYPE_CHECKING:`` (annotations) and inside functions (loaded when
called) do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "loopcheck"

# Top to bottom: a package may import its own layer and those below it. Root modules
# (loopcheck/files.py, loopcheck/__main__.py) are named like packages.
LAYERS = (
    ("frontends", "dev", "__main__"),  # the ways in, and the contributors' commands
    ("run",),  # files found, read, cached, checked, written back
    ("reporters",),  # output formats
    ("rules",),
    ("project",),  # the project model: which loops reach which objects, across modules
    ("fixes",),  # fix builders
    ("engine",),  # one file's text → findings and fixes
    ("settings",),  # what the user decided
    ("analysis",),  # shared per-file facts
    ("prefilter",),  # rules per file, before LibCST
    ("files", "notebooks", "data", "__init__"),  # safe file reading; notebooks; catalogues; the version
)
DEPTH = {name: depth for depth, names in enumerate(LAYERS) for name in names}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The imports run when the module loads (also under ``if``/``try``), not those under
    ``if TYPE_CHECKING:`` or in functions and classes."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            found += module_level_imports(node.orelse)
            if not _is_type_checking(node.test):
                found += module_level_imports(node.body)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += module_level_imports(block)
    return found


def imported_parts(node: ast.Import | ast.ImportFrom, module: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The loopcheck modules ``node`` imports, as name parts after ``loopcheck``; ``module``:
    the importing module's parts (a package's ``__init__`` included)."""
    if isinstance(node, ast.Import):
        dotted = [alias.name for alias in node.names]
    elif node.level:
        base = ["loopcheck", *module[: len(module) - node.level]]
        dotted = [".".join([*base, node.module] if node.module else base)]
    else:
        dotted = [node.module or ""]
    found = []
    for name in dotted:
        parts = tuple(name.split("."))
        if parts[0] != "loopcheck":
            continue
        if len(parts) == 1 and isinstance(node, ast.ImportFrom):  # from loopcheck import x
            found += [(alias.name,) if alias.name in DEPTH else ("__init__",) for alias in node.names]
        else:
            found.append(parts[1:] or ("__init__",))
    return found


def upward_imports(module: tuple[str, ...], source: str) -> list[str]:
    """``module``'s imports of a layer above its own, one line each; ``module``: its name parts
    after ``loopcheck`` (``("settings", "config")``, ``("files",)``)."""
    own = module[0]
    problems = []
    if own not in DEPTH:
        return [f"loopcheck.{'.'.join(module)}: package {own!r} is in no layer of LAYERS"]
    for node in module_level_imports(ast.parse(source).body):
        for parts in imported_parts(node, module):
            target = parts[0]
            if target not in DEPTH:
                problems.append(f"loopcheck.{'.'.join(module)}:{node.lineno} imports {target!r}, in no layer")
            elif DEPTH[target] < DEPTH[own]:
                problems.append(
                    f"loopcheck.{'.'.join(module)}:{node.lineno} ({own}) imports "
                    f"loopcheck.{'.'.join(parts)} ({target}, a layer above)"
                )
    return problems


def test_packages_import_only_their_own_layer_and_those_below():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).with_suffix("").parts
        problems += upward_imports(module, path.read_text("utf-8"))
    assert not problems, "imports against the layers of tests/test_layout.py:\n" + "\n".join(problems)


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert sorted((packages | modules) - set(DEPTH)) == []


def test_an_upward_import_is_named():
    source = "from loopcheck.run.files import read_regular\nimport loopcheck.engine.rule\n"
    assert upward_imports(("settings", "config"), source) == [
        "loopcheck.settings.config:1 (settings) imports loopcheck.run.files (run, a layer above)",
        "loopcheck.settings.config:2 (settings) imports loopcheck.engine.rule (engine, a layer above)",
    ]


def test_relative_and_package_imports_are_resolved():
    assert upward_imports(("settings", "__init__"), "from ..run import runner\n") == [
        "loopcheck.settings.__init__:1 (settings) imports loopcheck.run (run, a layer above)"
    ]
    assert upward_imports(("settings", "config"), "from loopcheck import run\n") == [
        "loopcheck.settings.config:1 (settings) imports loopcheck.run (run, a layer above)"
    ]


def test_imports_for_annotations_and_in_functions_are_not_counted():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from loopcheck.engine.rule import Rule\n"
        "def later():\n    from loopcheck.run import runner\n"
        "from loopcheck.files import read_regular\n"
    )
    assert upward_imports(("settings", "selection"), source) == []
