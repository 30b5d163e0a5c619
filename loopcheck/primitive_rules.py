"""What the LCK1xx rules share: finding primitive constructions, and their two fixes.

- The per-loop accessor (unsafe): the object is created by, and cached for, the running loop; every
  reference becomes a call of the accessor. The cache evicts closed loops on each lookup, because
  the objects hold their loop strongly and a WeakKeyDictionary would keep every dead loop alive.
- The threading twin (unsafe): where the object only guards synchronous code, the asyncio class is
  swapped for its ``threading`` counterpart, which works there (the asyncio one cannot).
Generated code uses only the standard library: the fixed program never imports loopcheck.
"""

from __future__ import annotations

import re
from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from loopcheck.analysis import (
    CreationSite,
    SiteKind,
    ancestors,
    creation_site,
    enclosing_function,
    in_coroutine,
    module_scope,
    parent,
)
from loopcheck.diagnostics import Fix, Safety
from loopcheck.fixes import FixBuilder, code_of, parse_statements
from loopcheck.rule import Rule

DOCSTRING = m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])

ACCESSOR_TEMPLATE = '''\
{cache} = {{}}


def {accessor}():
    """The running event loop's {what}, created on first use under that loop."""
    loop = asyncio.get_running_loop()
    # Forget closed loops: the cached objects hold their loop, so nothing else would free it.
    for stale in [other for other in list({cache}) if other.is_closed()]:
        {cache}.pop(stale, None)
    if loop not in {cache}:
        {cache}[loop] = {constructor}
    return {cache}[loop]
'''


def accessor_code(cache: str, accessor: str, what: str, constructor: str) -> str:
    return ACCESSOR_TEMPLATE.format(
        cache=cache, accessor=accessor, what=what, constructor=constructor
    ).rstrip("\n")


def keep_comments(old: cst.BaseStatement, new: cst.BaseStatement) -> cst.BaseStatement:
    """``new`` with the comment lines above ``old`` and, for simple lines, its trailing comment."""
    new = new.with_changes(leading_lines=[*old.leading_lines, *new.leading_lines])
    if isinstance(old, cst.SimpleStatementLine) and isinstance(new, cst.SimpleStatementLine):
        new = new.with_changes(trailing_whitespace=old.trailing_whitespace)
    return new


def snake_case(name: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).strip("_").lower()


class PrimitiveCreationRule(Rule):
    """Reports asyncio primitives constructed at one kind of :class:`CreationSite`."""

    kind: ClassVar[SiteKind]

    def __init__(self, context):  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.sites: list[CreationSite] = []

    def visit_Call(self, node: cst.Call) -> None:
        site = self.site_of(node)
        if site is not None and self.matches(site):
            self.sites.append(site)

    def site_of(self, call: cst.Call) -> CreationSite | None:
        # Every LCK1xx rule asks this of every call: answer once per file.
        memo = self.context.memo.setdefault("creation_site", {})
        if call not in memo:
            memo[call] = creation_site(self, call)
        return memo[call]

    def matches(self, site: CreationSite) -> bool:
        return site.kind is self.kind

    def finish(self) -> None:
        for site in self.sites:
            self.report(site.call, self.message_for(site), self.fix_for(site))

    def message_for(self, site: CreationSite) -> str:
        raise NotImplementedError

    def fix_for(self, site: CreationSite) -> Fix | None:
        return None

    # -- helpers for the fixes -------------------------------------------------------------

    def fresh_module_name(self, wanted: str) -> str:
        scope = module_scope(self)
        given = self.context.memo.setdefault("names_given", set())
        name, number = wanted, 1
        while name in scope or name in given:
            number += 1
            name = f"{wanted}_{number}"
        given.add(name)
        return name

    def accessor_statements(
        self, site: CreationSite, base: str, private: bool = True
    ) -> tuple[str, list[cst.BaseStatement]]:
        """The per-loop cache and accessor for ``site``; returns (accessor name, statements)."""
        cache = self.fresh_module_name(f"_{base}_by_loop")
        accessor = self.fresh_module_name(f"{'_' if private else ''}get_{base}")
        code = accessor_code(cache, accessor, site.primitive.name.lower(), code_of(site.call))
        return accessor, parse_statements(code)

    def is_top_level(self, statement: cst.CSTNode) -> bool:
        return any(statement is top for top in self.context.module.body)

    def all_in_coroutines(self, references: list[cst.CSTNode]) -> bool:
        """True when every reference runs under a running loop and only reads the object."""
        return bool(references) and all(
            in_coroutine(self, ref) and not _is_written(self, ref) for ref in references
        )

    def threading_twin_fix(self, site: CreationSite, references: list[cst.CSTNode]) -> Fix | None:
        """Swap in the threading counterpart when every use is synchronous and supported by it."""
        twin = site.primitive.threading_twin
        if twin is None or not references:
            return None
        if not all(_is_sync_use(self, ref, site.primitive.sync_methods) for ref in references):
            return None
        module, _, name = twin.rpartition(".")
        builder = FixBuilder(self.context)
        builder.replace(site.call.func, cst.parse_expression(twin))
        builder.add_import(module)
        builder.drop_imports_used_by(site.call.func)
        return builder.build(
            Safety.UNSAFE,
            f"Use `{twin}`: the object only guards synchronous code, where asyncio's cannot work",
        )

    def accessor_call(self, accessor: str) -> cst.Call:
        return cst.Call(func=cst.Name(accessor))

    def place_at_top_level(
        self,
        builder: FixBuilder,
        anchor: cst.BaseStatement,
        statements: list[cst.BaseStatement],
        *,
        where: str,
    ) -> None:
        """Put generated top-level ``statements`` before or after ``anchor``, or instead of it,
        keeping its comments and two blank lines around the generated function (PEP 8)."""
        body = list(self.context.module.body)
        index = next(i for i, statement in enumerate(body) if statement is anchor)
        two_blank = [cst.EmptyLine(), cst.EmptyLine()]
        if where == "before":
            statements[0] = statements[0].with_changes(leading_lines=anchor.leading_lines)
            builder.change(
                anchor,
                lambda updated: cst.FlattenSentinel(
                    [*statements, updated.with_changes(leading_lines=two_blank)]
                ),
            )
            return
        if where == "after":
            statements[0] = statements[0].with_changes(
                leading_lines=[*two_blank, *statements[0].leading_lines]
            )
            builder.insert_after(anchor, statements)
        else:
            statements[0] = keep_comments(anchor, statements[0])
            builder.replace(anchor, cst.FlattenSentinel(statements))
        if index + 1 < len(body):
            following = body[index + 1]
            kept = [line for line in following.leading_lines if line.comment is not None]
            builder.change(
                following, lambda updated: updated.with_changes(leading_lines=[*two_blank, *kept])
            )


def _is_written(rule: Rule, node: cst.CSTNode) -> bool:
    up = parent(rule, node)
    if isinstance(up, (cst.AssignTarget, cst.Del)):
        return True
    if isinstance(up, (cst.AnnAssign, cst.AugAssign)) and up.target is node:
        return True
    return False


def _is_sync_use(rule: Rule, ref: cst.CSTNode, methods: frozenset[str]) -> bool:
    """``with ref:`` or ``ref.method(...)`` (not awaited), outside any coroutine."""
    function = enclosing_function(rule, ref)
    if not isinstance(function, cst.FunctionDef) or function.asynchronous is not None:
        return False
    up = parent(rule, ref)
    if isinstance(up, cst.WithItem) and up.item is ref:
        with_statement = parent(rule, up)
        return isinstance(with_statement, cst.With) and with_statement.asynchronous is None
    if isinstance(up, cst.Attribute) and up.value is ref and up.attr.value in methods:
        call = parent(rule, up)
        return isinstance(call, cst.Call) and not isinstance(parent(rule, call), cst.Await)
    return False


def top_level_statement(rule: Rule, node: cst.CSTNode) -> cst.BaseStatement:
    """The statement of the module's body that holds ``node``."""
    for child, up in ancestors(rule, node):
        if isinstance(up, cst.Module):
            assert isinstance(child, cst.BaseStatement)
            return child
    raise ValueError("node is not in the module")


# The class itself, from inside its methods; with ``self`` too, the attribute as instances see it.
CLASS_RECEIVERS = (
    m.Name("cls")
    | m.Attribute(value=m.Name("self"), attr=m.Name("__class__"))
    | m.Call(func=m.Name("type"), args=[m.Arg(value=m.Name("self"))])
)
SELF_OR_CLASS = m.Name("self") | CLASS_RECEIVERS


def class_attribute_references(
    rule: Rule, class_def: cst.ClassDef, attribute: str
) -> list[cst.CSTNode] | None:
    """Reads of ``attribute`` through ``self``/``cls``/the class name; None when some access goes
    through another object (it might be the same attribute, so no rewrite is safe)."""
    class_name = class_def.name.value
    found: list[cst.CSTNode] = []
    for node in m.findall(rule.context.module, m.Attribute(attr=m.Name(attribute))):
        assert isinstance(node, cst.Attribute)
        if m.matches(node.value, m.Name(class_name)):
            found.append(node)
            continue
        if not m.matches(node.value, SELF_OR_CLASS):
            return None
        owner = next((up for _, up in ancestors(rule, node) if isinstance(up, cst.ClassDef)), None)
        if owner is class_def:
            found.append(node)
        elif owner is None or any(m.matches(b.value, m.Name(class_name)) for b in owner.bases):
            return None  # a subclass, or a function outside any class: cannot tell
    return found
