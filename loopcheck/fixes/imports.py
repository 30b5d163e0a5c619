"""Imports for generated code: use what the module already imports (``import asyncio as aio``,
``from asyncio import Lock``), or what the function the code goes in imports itself, and put a
new import where an import sorter (isort, Ruff's ``I`` rules, default settings) would: in its
section (future, standard library, third party, local), plain ``import x`` lines before ``from
x import y`` lines, each group sorted by module name."""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import ComprehensionScope, FunctionScope, GlobalScope, Scope

from loopcheck.analysis.names import Bindings, ImportTable, imports_as
from loopcheck.analysis.tree import descendants, has_docstring
from loopcheck.fixes.layout import ModuleText, visit_statements
from loopcheck.fixes.templates import code_of

STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"asyncio", "threading", "functools"}


@dataclass(frozen=True)
class ImportRequest:
    module: str
    name: str | None = None  # None: ``import module``; else ``from module import name``
    asname: str | None = None  # ``from module import name as asname``

    def code(self) -> str:
        if self.name is None:
            return f"import {self.module}"
        alias = f" as {self.asname}" if self.asname else ""
        return f"from {self.module} import {self.name}{alias}"


def name_for(
    table: ImportTable,
    bindings: Bindings,
    qualified: str,
    free: Callable[[str], bool],
    shadowed: Collection[str] = frozenset(),
) -> tuple[str, ImportRequest | None] | None:
    """The text that names ``qualified`` (``asyncio.get_running_loop``) wherever generated code
    puts it, and the import to add when the module has none; None when no spelling is sure.

    A name is used only if every binding of it in the module, wherever it is (later imports,
    assignments, parameters, locals), binds it to what the fix means: ``from compat import
    asyncio`` after ``import asyncio`` makes ``asyncio`` useless, and so would a parameter called
    ``asyncio`` where the code goes. Then the object is imported under a name the module does
    not use (``free``): ``from asyncio import get_running_loop``, else an alias. A star import
    from elsewhere may bind any name, so then only names that are already sure are used.
    ``shadowed``: the names the functions around the place bind (a function's own ``import
    asyncio`` after the place makes ``asyncio`` a local not yet set there): none of them is used."""
    module, _, attribute = qualified.rpartition(".")
    local = table.objects.get(qualified)
    if local is not None and local not in shadowed and bindings.only_imports_of(local, qualified):
        return local, None
    local = table.modules.get(module)
    if local is not None and local not in shadowed and bindings.only_imports_of(local, module):
        return f"{local}.{attribute}", None
    if any(not _from_module(star, module) for star in bindings.star_imports):
        return None
    top = module.partition(".")[0]
    if top not in shadowed and (bindings.only_imports_of(top, top) or free(top)):
        return qualified, ImportRequest(module)
    candidates = [attribute, f"_{top}_{attribute}"]
    candidates += [f"_{top}_{attribute}_{number}" for number in range(2, 100)]
    for candidate in candidates:
        if candidate not in shadowed and free(candidate):
            return candidate, ImportRequest(module, attribute, None if candidate == attribute else candidate)
    return None


def local_name_for(
    scope: Scope | None, qualified: str, usable: Callable[[cst.CSTNode], bool]
) -> str | None:
    """The text that names ``qualified`` at a place of ``scope`` through an import of the
    function it is in (or of a function around it): ``asyncio.run`` after the function's own
    ``import asyncio``, ``aio.run`` after ``import asyncio as aio``, ``run`` after ``from asyncio
    import run``; None when no function there imports it (the module's names then serve, see
    :func:`name_for`). A module-level import would only repeat such an import, and a linter
    would report the two. The name must mean that wherever it is read in that function: every
    binding of it there is such an import, each one ``usable`` (it runs before the place), and
    no scope in between binds it."""
    module, _, attribute = qualified.rpartition(".")
    inner: list[Scope] = []
    while scope is not None and not isinstance(scope, GlobalScope):
        if isinstance(scope, FunctionScope):
            for assignment in scope.assignments:
                local = assignment.name.partition(".")[0]
                node = getattr(assignment, "node", None)
                if node is None or any(local in _bound_in(between) for between in inner):
                    continue
                for target, text in ((qualified, local), (module, f"{local}.{attribute}")):
                    bindings = [getattr(a, "node", None) for a in scope.assignments[local] if a.scope is scope]
                    if all(b is not None and imports_as(b, local, target) and usable(b) for b in bindings):
                        return text
        inner.append(scope)
        scope = scope.parent
    return None


def function_bindings(scope: Scope | None) -> set[str]:
    """The names the functions (and comprehensions) around a place of ``scope`` bind: each is a
    local there, whatever the module binds it to."""
    found: set[str] = set()
    while scope is not None and not isinstance(scope, GlobalScope):
        if isinstance(scope, (FunctionScope, ComprehensionScope)):
            found |= _bound_in(scope)
        scope = scope.parent
    return found


def _bound_in(scope: Scope) -> set[str]:
    return {assignment.name.partition(".")[0] for assignment in scope.assignments if assignment.scope is scope}


def _from_module(star: cst.ImportFrom, module: str) -> bool:
    """Whether the star import is ``from <module> import *`` itself (it binds only its names)."""
    return not star.relative and star.module is not None and code_of(star.module) == module


def _import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _modules(statement: cst.SimpleStatementLine) -> list[tuple[bool, str, int]]:
    """(is a from-import, module name, relative level) of each import on the line."""
    found = []
    for small in statement.body:
        if isinstance(small, cst.Import):
            found.extend((False, alias.evaluated_name, 0) for alias in small.names)
        elif isinstance(small, cst.ImportFrom):
            module = code_of(small.module) if small.module else ""
            found.append((True, module, len(small.relative)))
    return found


def _section(module: str, relative: int) -> int:
    if relative:
        return 3
    if module == "__future__":
        return 0
    return 1 if module.partition(".")[0] in STDLIB else 2


def _key(statement: cst.SimpleStatementLine) -> tuple[int, bool, str]:
    is_from, module, relative = _modules(statement)[0]
    return _section(module, relative), is_from, module.lower()


def _satisfied(body: Sequence[cst.BaseStatement], request: ImportRequest) -> bool:
    for statement in body:
        if not _import_line(statement):
            continue
        for small in statement.body:  # type: ignore[attr-defined]
            if request.name is None and isinstance(small, cst.Import):
                if any(a.evaluated_name == request.module and a.asname is None for a in small.names):
                    return True
            if request.name is not None and isinstance(small, cst.ImportFrom) and small.module:
                module = code_of(small.module)
                if module == request.module and not isinstance(small.names, cst.ImportStar) and any(
                    a.evaluated_name == request.name and a.evaluated_alias == request.asname
                    for a in small.names
                ):
                    return True
    return False


def _split_blanks(lines: Sequence[cst.EmptyLine]) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """The lines above a statement that are not its own (up to its last blank line: blank lines,
    and comment blocks a blank line separates from it, like a licence header), and the comment
    lines right above it, which stay with it."""
    count = len(lines)
    while count and lines[count - 1].comment is not None:
        count -= 1
    return list(lines[:count]), list(lines[count:])


def add_imports(module: cst.Module, requests: Sequence[ImportRequest]) -> cst.Module:
    """``module`` with the imports ``requests`` asks for that it lacks: the names from one module
    on one ``from`` line, added to the module's own line for it where the sorter would keep it
    within the line length, else a line of their own in its place."""
    body = list(module.body)
    missing = [request for request in dict.fromkeys(requests) if not _satisfied(body, request)]
    names_from: dict[str, list[str]] = {}
    for request in missing:
        if request.name is not None and request.asname is None:
            names_from.setdefault(request.module, []).append(request.name)
    for request in missing:
        if request.name is None or request.asname is not None:
            body = _insert(body, request.code())
        elif request.module in names_from:
            names = names_from.pop(request.module)
            joined = _joined_from_line(body, request.module, names)
            if joined is not None:
                index, line = joined
                body[index] = line
            else:
                body = _insert(body, f"from {request.module} import {', '.join(sorted(names, key=_name_order))}")
    return module.with_changes(body=body)


# The line length an import sorter keeps (isort's and Ruff's default).
LINE_LENGTH = 88


def _name_order(name: str) -> tuple[int, str]:
    """Where an import sorter puts a name on a ``from`` line (Ruff's and isort's order by type):
    constants, then classes, then the others, each alphabetically."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def _joined_from_line(body: Sequence[cst.BaseStatement], module: str, names: list[str]) -> tuple[int, cst.SimpleStatementLine] | None:
    """The module's own top-level ``from module import ...`` line (one statement, plain names,
    no comment) with ``names`` added, and its position; None when it has none, or the line
    would pass the sorter's line length."""
    for index, statement in enumerate(body):
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            continue
        small = statement.body[0]
        if not (isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative):
            continue
        if code_of(small.module) != module or isinstance(small.names, cst.ImportStar):
            continue
        if small.lpar is not None or statement.trailing_whitespace.comment is not None:
            return None
        written = [code_of(alias).rstrip(", ") for alias in small.names]
        line = f"from {module} import {', '.join(sorted([*written, *names], key=_name_order))}"
        if len(line) > LINE_LENGTH:
            return None
        new = cst.parse_statement(line)
        return index, new.with_changes(leading_lines=statement.leading_lines)  # type: ignore[return-value]
    return None


def _insert(body: list[cst.BaseStatement], code: str) -> list[cst.BaseStatement]:
    new = cst.parse_statement(code)
    assert isinstance(new, cst.SimpleStatementLine)
    key = _key(new)
    first = next((i for i, s in enumerate(body) if _import_line(s)), None)
    if first is None:
        return _insert_first_import(body, new)
    end = first
    while end < len(body) and _import_line(body[end]):
        end += 1
    block = range(first, end)
    same = [i for i in block if _key(body[i])[0] == key[0]]  # type: ignore[arg-type]
    if same:
        after = [i for i in same if _key(body[i]) > key]  # type: ignore[arg-type]
        if after:
            return _before(body, after[0], new, separate=False)
        return [*body[: same[-1] + 1], new, *body[same[-1] + 1 :]]
    later = [i for i in block if _key(body[i])[0] > key[0]]  # type: ignore[arg-type]
    if later:
        return _before(body, later[0], new, separate=True)
    new = new.with_changes(leading_lines=[cst.EmptyLine()])
    return [*body[:end], new, *body[end:]]


def _before(body: list[cst.BaseStatement], index: int, new: cst.SimpleStatementLine, separate: bool) -> list[cst.BaseStatement]:
    """``new`` before ``body[index]``, taking over its blank lines; a blank line between them
    when ``new`` opens a section of its own."""
    following = body[index]
    blanks, rest = _split_blanks(following.leading_lines)
    new = new.with_changes(leading_lines=blanks if index else [])  # no blank line atop the file
    following = following.with_changes(leading_lines=[cst.EmptyLine(), *rest] if separate else rest)
    return [*body[:index], new, following, *body[index + 1 :]]


def _insert_first_import(body: list[cst.BaseStatement], new: cst.SimpleStatementLine) -> list[cst.BaseStatement]:
    """The module's first import: after the docstring, before the code (PEP 8 spacing)."""
    index = 1 if has_docstring(body) else 0
    if index:
        new = new.with_changes(leading_lines=[cst.EmptyLine()])
    if index < len(body):
        following = body[index]
        blanks, rest = _split_blanks(following.leading_lines)
        wanted = 2 if isinstance(following, (cst.FunctionDef, cst.ClassDef)) else 1
        header = any(line.comment is not None for line in blanks)
        if not index or header:  # the lines above the code, comments too, stay above the import
            new = new.with_changes(leading_lines=blanks)
        spacing = [cst.EmptyLine()] * max(wanted, len(blanks) if index and not header else wanted)
        body = [*body[:index], new, following.with_changes(leading_lines=[*spacing, *rest]), *body[index + 1 :]]
        return body
    return [*body, new]


def remove_unused(
    module: cst.Module, names: Collection[str] | Mapping[str, Collection[str]], text: ModuleText | None = None
) -> cst.Module:
    """Drop from ``module``'s imports each of ``names`` (local names an import binds) that its
    code no longer mentions. A mention in a string or comment keeps the import: the test is on
    words, which can only keep an import too many, never break code. Where ``names`` maps a
    name to the functions (qualified names, ``Worker.run``; the module is ``""``) whose imports
    bound it for the removed code,
    such a function's import of it also goes when that function no longer mentions it, though
    another function does. With ``text`` (the text of the statements ``module`` shares with the
    parsed file), statements it knows are not read again, and only those that mention a dropped
    name are rewritten."""
    if not names:
        return module
    unused = {name for name in names if not _mentioned(module, name, text)}
    local: dict[str, set[str]] = {}
    if isinstance(names, Mapping):
        local = {name: {function for function in names[name] if function} for name in names if name not in unused}
        local = {name: functions for name, functions in local.items() if functions}
    if not unused and not local:
        return module
    dropping = _DropImports(unused, local)
    if text is None:
        return module.visit(dropping)
    # An import that binds a name mentions it as a word: the other statements are left alone.
    # A function whose own import may go is one the fix changed: its words are not known.
    chosen = [
        number
        for number, statement in enumerate(module.body)
        if (words := text.words_of(statement)) is None or not words.isdisjoint(unused)
    ]
    return module.with_changes(body=visit_statements(module.body, chosen, dropping))


def drop_imports_left_unused(before: str, after: str) -> str:
    """``after`` without the imports ``before`` used and ``after`` no longer mentions. Fixes
    applied in one pass are each built on ``before``: where two remove the last uses of one
    import, each sees the other's and keeps it. An import ``before`` did not use stays: no fix
    made it unused."""
    old, new = cst.parse_module(before), cst.parse_module(after)
    imported = {
        alias.evaluated_alias or alias.evaluated_name.partition(".")[0]
        for kind in (cst.Import, cst.ImportFrom)
        for statement in descendants(new, kind)
        if not isinstance(statement.names, cst.ImportStar)
        for alias in statement.names
    }
    tidied = remove_unused(new, {name for name in imported if _mentioned(old, name)})
    return after if tidied is new else tidied.code


def _mentioned(module: cst.Module, name: str, text: ModuleText | None = None) -> bool:
    """Whether ``name`` is a word of ``module`` outside the imports that bind it."""
    word = _word(name)
    for statement in module.body:
        words = None if text is None else text.words_of(statement)
        if words is not None and name not in words:
            continue
        code = module.code_for_node(statement) if text is None else text.text_of(statement, module)
        if not word.search(code):
            continue
        if _import_line(statement) and all(
            _binds(small, name) or not word.search(module.code_for_node(small))
            for small in statement.body  # type: ignore[attr-defined]
        ):
            # the only mentions on this line are the imports that bind it
            if not any(word.search(_without_binding(module, small, name)) for small in statement.body):  # type: ignore[attr-defined]
                continue
        elif not _import_line(statement) and not word.search(_without_nested_imports(module, statement, code, name)):
            continue  # the only mentions are a function's own imports that bind it
        return True
    return False


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(name)}\b")  # not an attribute of something


def _without_nested_imports(module: cst.Module, statement: cst.CSTNode, code: str, name: str) -> str:
    """``code``, the code of the compound ``statement``, without the imports in it that bind
    ``name`` (a function's own ``from asyncio import new_event_loop``)."""
    for kind in (cst.Import, cst.ImportFrom):
        for nested in descendants(statement, kind):
            if _binds(nested, name):
                code = code.replace(module.code_for_node(nested), "", 1)
    return code


def _binds(statement: cst.BaseSmallStatement, name: str) -> bool:
    if isinstance(statement, (cst.Import, cst.ImportFrom)) and not isinstance(statement.names, cst.ImportStar):
        return any((alias.evaluated_alias or alias.evaluated_name.partition(".")[0]) == name for alias in statement.names)
    return False


def _without_binding(module: cst.Module, statement: cst.BaseSmallStatement, name: str) -> str:
    """The code of an import statement without the alias that binds ``name``."""
    if not _binds(statement, name):
        return module.code_for_node(statement)
    return ""


class _DropImports(cst.CSTTransformer):
    """Drops the imports of ``names`` everywhere, and a function's own imports of a name of
    ``local`` (in the functions, by qualified name, it gives for the name) where that
    function no longer mentions the name but in those imports."""

    def __init__(self, names: set[str], local: Mapping[str, set[str]] | None = None) -> None:
        super().__init__()
        self.names = names
        self.local = local or {}
        self.scopes: list[str] = []  # the names of the classes and functions around, outermost first
        self.unused_here: list[set[str]] = []  # per function visited, the names of ``local`` it no longer uses

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(node.name.value)

    def leave_ClassDef(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        self.scopes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # Decided once per function, from its code with the fix's changes.
        self.scopes.append(node.name.value)
        self.unused_here.append(self._unused_in(node.body))

    def leave_FunctionDef(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        self.scopes.pop()
        self.unused_here.pop()
        return updated_node

    def _unused_in(self, block: cst.BaseSuite) -> set[str]:
        qualified = ".".join(self.scopes)
        wanted = [name for name, functions in self.local.items() if qualified in functions]
        if not wanted:
            return set()
        code = code_of(block)
        return {name for name in wanted if not _word(name).search(_without_nested_imports(cst.Module([]), block, code, name))}

    def _keep(self, alias: cst.ImportAlias) -> bool:
        bound = alias.evaluated_alias or alias.evaluated_name.partition(".")[0]
        return bound not in self.names and not (self.unused_here and bound in self.unused_here[-1])

    def leave_Import(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        return self._filtered(updated_node)

    def leave_IndentedBlock(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        # A function's first line dropped: the blank lines under it go too, not up to its `def`.
        first = original_node.body[0] if original_node.body else None
        if not updated_node.body or not _import_line(first) or len(updated_node.body) == len(original_node.body):
            return updated_node
        small_statements = first.body  # type: ignore[union-attr]
        if not any(isinstance(small.names, cst.ImportStar) for small in small_statements) and not any(
            self._keep(alias) for small in small_statements for alias in small.names
        ):
            below = updated_node.body[0]
            kept = list(itertools.dropwhile(lambda line: line.comment is None, below.leading_lines))
            return updated_node.with_changes(body=[below.with_changes(leading_lines=kept), *updated_node.body[1:]])
        return updated_node

    def leave_ImportFrom(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        return self._filtered(updated_node)

    def _filtered(self, node):  # type: ignore[no-untyped-def]
        kept = [alias for alias in node.names if self._keep(alias)]
        if len(kept) == len(node.names):
            return node
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=kept)

