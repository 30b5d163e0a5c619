"""The fixes of an async client shared across event loops (LCK3xx), both unsafe:

- the per-loop factory: the client is created by, and cached for, the running loop, closed when
  that loop ends, however it ends (see templates.PER_LOOP_CLIENT), and every read becomes a call
  of the factory; a global a worker start-up hook made takes it over, and the hook stops making
  it;
- the loop-aware holder: the same accessor as a property of the class whose instance keeps the
  client, so every ``self.client`` and ``instance.client`` read stays as it is;
- the per-call client: where one coroutine uses the client, it opens it with ``async with`` for
  the call, so each call (and each loop) has its own, closed at the end.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.holders import SingletonRegistry
from loopcheck.analysis.names import variable_names
from loopcheck.analysis.tree import has_docstring
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import Edit, FixProposal, NoFix, Safety, Withheld
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.getter import rewrite_getter
from loopcheck.fixes.per_loop import (
    IN_A_REGISTRY,
    NOT_STORED_BY_A_METHOD,
    UNUSED,
    PerLoopFixes,
    class_case,
    install_accessor,
    lone_store,
    move_after_class,
    only_written_there,
    snake_case,
)
from loopcheck.fixes.public_names import AccessorFix, proxy_fix, public_fixes
from loopcheck.fixes.statements import (
    StatementEditor,
    keep_comments,
    place_at_top_level,
    removed_comments_note,
)
from loopcheck.fixes.templates import as_property, per_loop_client

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis
    from loopcheck.analysis.tree import Tree
    from loopcheck.engine.context import LintContext


# What the per-loop client code names (see FixProposal.names).
CLIENT_NAMES = ("asyncio.get_running_loop", "asyncio.run", "threading.Thread")
# The accessor's locals: a constructor that reads a global of one of these names would see the
# local instead.
ACCESSOR_LOCALS = frozenset({"loop", "stale", "other", "entry", "closing", "client", "closer"})


def unfixable(client: Client, creation: cst.BaseExpression) -> NoFix | None:
    """Why no per-loop factory can make and close the client ``creation`` makes; None when one can."""
    if client.fix != "per-loop-factory" or client.close is None:
        return NoFix(f"loopcheck does not know how to make and close {client.display} clients per loop")
    clash = sorted({name.value for name in variable_names(creation)} & ACCESSOR_LOCALS)
    if clash:
        return NoFix(f"the constructor reads `{clash[0]}`, a name the per-loop accessor uses as a local")
    shared = _shared_argument(client, creation)
    if shared is not None:
        return NoFix(f"it is made with `{shared}`, which every event loop's {client.display} would share")
    return None


def _shared_argument(client: Client, creation: cst.BaseExpression) -> str | None:
    """The argument of ``creation`` (as written) that hands the client an object of its own
    (the catalogue's ``shared-arguments``), or None."""
    if not isinstance(creation, cst.Call):
        return None
    for arg in creation.args:
        if arg.keyword is not None and arg.keyword.value in client.shared_arguments:
            return f"{arg.keyword.value}={cst.Module([]).code_for_node(arg.value)}"
    return None


class ClientFixes:
    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.analysis = context.analysis
        self.tree = context.analysis.tree

    def factory(
        self,
        client: Client,
        creation: cst.BaseExpression,
        name: str,
        anchor: cst.BaseStatement,
        references: Sequence[cst.CSTNode],
        moved: cst.SimpleStatementLine | None = None,
        hook: HookStore | None = None,
    ) -> AccessorFix | NoFix:
        """Replace ``anchor`` (the top-level statement that made the client) by a per-loop
        factory, and every reference by a call of it. With ``moved``, the line of a class body
        that made it, ``anchor`` is that class: the line goes (its comments move to the
        factory), and the factory follows the class, private, shared by all its instances.
        With ``hook``, a start-up hook made it and ``anchor`` is the global's ``name = None``
        line: the hook's statements that made it go. The fix comes with the factory's name, and a
        build that puts the statements it is given after the factory."""
        declined = unfixable(client, creation)
        if declined is not None:
            return declined
        base = snake_case(name)
        cache = self.context.naming.fresh_module_name(f"_{base}_by_loop")
        private = name.startswith("_") or moved is not None
        # A class's methods read the accessor where a local of theirs could shadow it.
        used_at = references if moved is not None else ()
        accessor = self.context.naming.fresh_module_name(f"{'_' if private else ''}get_{base}", used_at)
        closers = self.closer_names(base)

        def build(after: Sequence[cst.BaseStatement] = ()) -> tuple[Edit, ...]:
            builder = FixBuilder(self.context)
            made, function, closing = _per_loop_parts(
                builder, cst.Name(cache), accessor, closers, client, creation
            )
            statements = [made, function, *closing, *after]
            if moved is None:
                install_accessor(builder, self.tree, anchor, statements, references, accessor)
                if hook is not None:
                    hook.retire(builder, self.tree)
                return builder.build()
            assert isinstance(anchor, cst.ClassDef)
            move_after_class(builder, self.tree, moved, anchor, statements, references, accessor)
            return builder.build()

        shared = ", shared by all instances" if moved is not None else ""
        proposal = FixProposal(
            Safety.UNSAFE,
            f"Create one client per event loop with `{accessor}()`{shared}, closed when its loop ends"
            f"{hook.note(self.context) if hook is not None else ''}",
            build,
            CLIENT_NAMES,
        )
        return AccessorFix(proposal, accessor, build)

    def public(
        self, public: NoFix, name: str, client: Client, alone: FixProposal, factory: AccessorFix
    ) -> Withheld[FixProposal] | NoFix | None:
        """The fixes of the public global ``name`` (see public_names): ``alone``, the fix a
        private name gets, where no module of the project imports it; where one does, the
        per-loop ``factory`` with a proxy that keeps ``name`` importable (``async with`` too,
        for a client that is an async context manager)."""
        return public_fixes(
            public, name, alone, lambda: self.proxied(factory, client, name), exported=name in self.analysis.exports
        )

    def proxied(self, factory: AccessorFix, client: Client, name: str, followed_by: str = "") -> FixProposal:
        """The per-loop ``factory`` fix with a proxy that keeps ``name`` for the running loop's
        client (``followed_by``: the code made at import that follows the proxy, for the title)."""
        proxy = self.context.naming.fresh_module_name(f"_{class_case(name)}PerLoop")
        specials = ("__aenter__", "__aexit__") if client.async_context_manager else ()
        return proxy_fix(factory, name, client.display, proxy, specials, followed_by)

    def getter(
        self,
        client: Client,
        creation: cst.BaseExpression,
        function: cst.FunctionDef,
        drop_decorators: bool = False,
        initial: cst.SimpleStatementLine | None = None,
    ) -> FixProposal | NoFix:
        """Rewrite a getter that keeps one client into one that keeps a client per loop; it
        keeps its name (and ``async``), so its callers do not change. ``drop_decorators`` for a
        cached factory; ``initial``, the ``name = None`` line of a global getter, becomes the
        per-loop cache."""
        declined = unfixable(client, creation)
        if declined is not None:
            return declined
        base = snake_case(function.name.value)
        cache = self.context.naming.fresh_module_name(f"_{base}_by_loop")
        closers = self.closer_names(base)

        def build() -> tuple[Edit, ...]:
            builder = FixBuilder(self.context)
            made, accessor, closing = _per_loop_parts(
                builder, cst.Name(cache), function.name.value, closers, client, creation
            )
            generated = [made, accessor, *closing]
            rewrite_getter(builder, self.tree, function, generated, initial, drop_decorators=drop_decorators)
            return builder.build()

        return FixProposal(
            Safety.UNSAFE,
            f"Make {function.name.value}() keep one client per event loop, closed when its loop ends",
            build,
            CLIENT_NAMES,
        )

    def closer_names(self, base: str) -> tuple[str, str]:
        """Fresh module-level names for the functions that close ``base``'s clients: at their
        loop's shutdown, and when their loop was closed by hand."""
        naming = self.context.naming
        return naming.fresh_module_name(f"_close_{base}"), naming.fresh_module_name(f"_close_{base}_now")

    def holder(
        self, client: Client, creation: cst.BaseExpression, holder: Holder, method: cst.FunctionDef
    ) -> FixProposal | NoFix:
        """The loop-aware holder: the attribute of the shared instance that keeps the client
        becomes a property that keeps one client per running loop (made, on first use under a
        loop, by the constructor the method ran; closed when that loop ends), so every read of
        it stays as it is. The method now sets the property's cache to an empty dict. The rule
        has checked that every read runs in a coroutine (the property needs a running loop)."""
        if isinstance(holder, SingletonRegistry):
            return NoFix(IN_A_REGISTRY)
        if isinstance(self.tree.parents.get(creation), cst.Await):
            return NoFix("the client is made by an awaited call, which a property cannot wait for")
        line = lone_store(self.tree, creation, holder, Held.SINGLETON_ATTRIBUTE)
        if isinstance(line, NoFix):
            return line
        declined = only_written_there(holder) or unfixable(client, creation)
        if declined is not None:
            return declined
        class_def, fixes = holder.owner, PerLoopFixes(self.context)
        if not fixes.stored_by_own_method(class_def, method, line):
            return NoFix(NOT_STORED_BY_A_METHOD)
        assert isinstance(class_def, cst.ClassDef) and holder.name is not None
        if not holder.reads:
            return NoFix(UNUSED)
        attribute, cache = holder.name, f"_{holder.name.lstrip('_')}_by_loop"
        reason = fixes.property_declined(creation, class_def, attribute, cache)  # type: ignore[arg-type]
        if reason is not None:
            return NoFix(reason)
        closers = self.closer_names(snake_case(attribute))

        def build() -> tuple[Edit, ...]:
            builder = FixBuilder(self.context)
            receiver = cst.Attribute(value=holder.target.value, attr=cst.Name(cache))  # type: ignore[union-attr]
            made = fixes.read_from_self(creation)
            emptied, accessor, closing = _per_loop_parts(builder, receiver, attribute, closers, client, made)
            builder.replace(line, keep_comments(line, emptied))
            builder.insert_after(method, [as_property(accessor, attribute)])
            closing[0] = closing[0].with_changes(leading_lines=[])  # the placing spaces it
            place_at_top_level(builder, self.tree, class_def, closing, where="after")
            return builder.build()

        return FixProposal(
            Safety.UNSAFE,
            f"Make `{attribute}` a property keeping one client per event loop, closed when its loop ends",
            build,
            CLIENT_NAMES,
        )

    def per_call(
        self,
        client: Client,
        creation: cst.BaseExpression,
        name: str,
        line: cst.SimpleStatementLine,
        function: cst.FunctionDef,
    ) -> FixProposal | None:
        """Delete the shared client and open one per call of ``function``, the coroutine that
        uses it: ``async with <creation> as <name>:`` around its body."""
        if not client.async_context_manager or not isinstance(function.body, cst.IndentedBlock):
            return None

        def build() -> tuple[Edit, ...]:
            builder = FixBuilder(self.context)
            builder.replace(line, cst.RemoveFromParent())

            def wrap(updated: cst.CSTNode) -> cst.CSTNode:
                assert isinstance(updated, cst.FunctionDef)
                body = list(updated.body.body)
                keep = 1 if has_docstring(body) else 0
                opened = cst.With(
                    asynchronous=cst.Asynchronous(),
                    items=[cst.WithItem(item=creation, asname=cst.AsName(name=cst.Name(name)))],
                    body=cst.IndentedBlock(body=body[keep:]),
                )
                return updated.with_changes(body=updated.body.with_changes(body=[*body[:keep], opened]))

            builder.change(function, wrap)
            return builder.build()

        removes = removed_comments_note([e.comment.value for e in line.leading_lines if e.comment is not None])
        return FixProposal(
            Safety.UNSAFE,
            f"Open the client for each call of {function.name.value}() with `async with`{removes}",
            build,
        )


class HookStore:
    """The statements of a start-up hook (a function) that make a module global's client:
    ``global name`` and ``name = <creation>``. The per-loop factory takes the global over, so
    they go, and the hook with them when nothing else is left in it."""

    def __init__(self, function: cst.FunctionDef, line: cst.SimpleStatementLine, name: str) -> None:
        self.function, self.line, self.name = function, line, name
        self.declarations = [
            small
            for statement in _steps(function)
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
            if isinstance(small, cst.Global) and any(n.name.value == name for n in small.names)
        ]
        lone = {id(d) for d in self.declarations if len(d.names) == 1}  # type: ignore[attr-defined]
        self.emptied = all(
            statement is line
            or (isinstance(statement, cst.SimpleStatementLine) and all(id(s) in lone for s in statement.body))
            for statement in _steps(function)
        )

    def declined(self, analysis: FileAnalysis) -> NoFix | None:
        """Why the hook cannot lose these statements: it would be left empty, and its name is
        used (it is connected by a call, not by a decorator)."""
        if not self.emptied:
            return None
        scope = analysis.scopes.get(self.function)
        if (
            analysis.tree.is_top_level(self.function)
            and self.function.decorators
            and scope is not None
            and not scope.accesses[self.function.name.value]
        ):
            return None
        return NoFix(f"it would leave `{self.function.name.value}()` empty, and something calls it")

    def note(self, context: LintContext) -> str:
        """What the fix's title says of the hook, and of the comments that go with its lines
        (planned on a builder of their own, which nothing builds)."""
        name = self.function.name.value
        editor = self.retire(FixBuilder(context), context.analysis.tree)
        removes = removed_comments_note(editor.dropped)
        if self.emptied:
            return f", instead of one per worker process; `{name}()`, which made only that, goes{removes}"
        return f", instead of one per worker process made by `{name}()`{removes}"

    def retire(self, builder: FixBuilder, tree: Tree) -> StatementEditor:
        editor = StatementEditor(builder, tree)
        if self.emptied:
            editor.remove(self.function)  # its decorator connected it: nothing is left to run
        else:
            editor.delete(self.line.body[0])
            for declaration in self.declarations:
                assert isinstance(declaration, cst.Global)
                if len(declaration.names) == 1:
                    editor.delete(declaration)
                else:
                    builder.change(declaration, functools.partial(_without_name, name=self.name))
        editor.finish()
        return editor


def _steps(function: cst.FunctionDef) -> list[cst.BaseStatement]:
    """The statements of ``function``'s body but its docstring."""
    if not isinstance(function.body, cst.IndentedBlock):
        return []
    body = list(function.body.body)
    return body[1:] if has_docstring(body) else body


def _without_name(declaration: cst.CSTNode, name: str) -> cst.CSTNode:
    """``global a, name, b`` as ``global a, b``."""
    assert isinstance(declaration, cst.Global)
    kept = [n for n in declaration.names if n.name.value != name]
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return declaration.with_changes(names=kept)


def _per_loop_parts(
    builder: FixBuilder,
    cache: cst.BaseExpression,
    accessor: str,
    closers: tuple[str, str],
    client: Client,
    creation: cst.BaseExpression,
) -> tuple[cst.SimpleStatementLine, cst.FunctionDef, list[cst.BaseStatement]]:
    """The per-loop cache's creation, its accessor and the closers, naming asyncio and threading
    through the module's imports."""
    return per_loop_client(
        cache, accessor, *closers, client.display, creation, client.close_statement("client", "loop"), builder.name
    )
