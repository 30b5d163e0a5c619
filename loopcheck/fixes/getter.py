"""The getter rewrite of LCK104 and LCK303: a getter that keeps one object for the process (the
global-None idiom ``global name`` / ``if name is None: name = ...`` / ``return name``, or a
cached factory) becomes one that keeps an object per event loop. It keeps its name (and
``async``), so its callers do not change."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.tree import has_docstring, is_none
from loopcheck.engine.diagnostics import NoFix
from loopcheck.fixes.per_loop import (
    initial_none_reason,
    public_reason,
    unfollowed_reason,
    used_outside_getter_reason,
)
from loopcheck.fixes.statements import keep_comments, place_at_top_level

if TYPE_CHECKING:
    from loopcheck.analysis import Holder
    from loopcheck.analysis.tree import Tree
    from loopcheck.fixes.builder import FixBuilder


def sole_initial_none(
    tree: Tree, holder: Holder, function: cst.FunctionDef, exports: Collection[str]
) -> cst.SimpleStatementLine | NoFix:
    """The top-level ``name = None`` line of the global the getter ``function`` keeps, when
    nothing but the getter and that line uses the global; else why not. The rewrite removes the
    global, so a public one (see ``public_reason``; ``exports`` is ``__all__``) stays."""
    if not holder.followable:
        return NoFix(unfollowed_reason(holder.name))
    outside = [n for n in holder.accesses or () if not tree.within(n, function)]
    if len(holder.writes) != 2 or len(outside) != 1 or outside[0] not in holder.writes:
        return NoFix(used_outside_getter_reason(holder.name, function.name.value))
    line = none_line(tree, outside[0])
    if line is None or not tree.is_top_level(line):
        return NoFix(initial_none_reason(holder.name))
    return public_reason(holder.name, exports) or line


def none_line(tree: Tree, target: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The line of its own that binds ``target`` to None (``name = None``, ``name: T = None``)."""
    up = tree.parents.get(target)
    assign = tree.parents.get(up) if isinstance(up, cst.AssignTarget) else up
    if not (isinstance(assign, (cst.Assign, cst.AnnAssign)) and is_none(assign.value)):
        return None
    line = tree.parents.get(assign)
    return line if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None


def rewrite_getter(
    builder: FixBuilder,
    tree: Tree,
    function: cst.FunctionDef,
    generated: list[cst.BaseStatement],
    initial: cst.SimpleStatementLine | None = None,
    *,
    drop_decorators: bool = False,
    generated_docstring: bool = True,
) -> None:
    """Give ``function`` the body of the generated accessor; ``generated`` is the per-loop
    template's code: the cache line, the accessor, and any helpers that go after it.

    ``initial`` (the global's ``name = None`` line) becomes the cache line; without it the cache
    line goes above the getter. The getter's own docstring replaces the generated one, which
    stays only with ``generated_docstring``. ``drop_decorators``: the cache decorators of a
    cached factory go, with the imports only they used."""
    cache_line, accessor, *after = generated
    assert isinstance(accessor, cst.FunctionDef)
    own, made = list(function.body.body), list(accessor.body.body)
    if has_docstring(own):
        body = [*own[:1], *made[1:]]
    else:
        body = made if generated_docstring else made[1:]
    rewritten = function.with_changes(
        body=function.body.with_changes(body=body),
        decorators=[] if drop_decorators else function.decorators,
    )
    if initial is None:
        place_at_top_level(builder, tree, function, [cache_line, rewritten, *after], where="instead")
    else:
        builder.replace(initial, keep_comments(initial, cache_line))
        if after:
            rewritten = rewritten.with_changes(leading_lines=[])  # it takes the old def's lines
            place_at_top_level(builder, tree, function, [rewritten, *after], where="instead")
        else:
            builder.replace(function, rewritten)  # nothing goes beside it: spacing stays
    if drop_decorators:
        for decorator in function.decorators:
            builder.drop_imports_used_by(decorator)
