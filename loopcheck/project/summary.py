"""One module's text to its summary (:class:`~loopcheck.project.records.ModuleSummary`).

``ast`` only, one parse and one walk: the walk collects what each scope binds, calls, reads and
stores, in source order; the names are then resolved through the module's imports (all of them,
wherever they are written) and matched against the catalogue. The module is never imported.

Choices the records leave open:
- imports inside functions and classes are recorded module-wide (a function's references to them
  are kept, not dropped as locals); those under ``if TYPE_CHECKING:`` are skipped;
- a function's references drop names bound in it or in the functions around it (parameters,
  assignments, loop and ``with`` targets) but keep the functions defined there (``run`` in
  ``task`` stands for ``task.run``), keep ``self``/``cls`` chains and drop builtins the
  module does not rebind; annotations are not references;
- a holder is a direct creation (``Lock()``, ``await create_pool()``, ``Ctor().through()``);
  a creation wrapped in another call (``Wrapper(Lock())``) is not followed;
- contexts are those the module's own seeds give (no propagation along calls: the reach does
  that across modules); a callable imported from another module and handed to a seed is
  recorded (``ModuleSummary.handed``, as written) only when the seed's context runs ``async
  def`` functions on a loop (a Django URL pattern, arq's ``WorkerSettings.functions``): those
  start loops the reach follows, where a thread target from elsewhere only adds a context.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar

from loopcheck.data.catalogue import SERVED_CONTEXT, Catalogue, Confinement, ContextSeed, holder_shapes
from loopcheck.data.catalogue import LoopStart as StartEntry
from loopcheck.project.celery_config import stated_pool
from loopcheck.project.lookups import keyed_lookups
from loopcheck.project.pytest_config import FIXTURE_DECORATORS, LOOP_FIXTURE
from loopcheck.project.records import (
    MODULE_CODE,
    Class,
    Function,
    Holder,
    LoopStart,
    ModuleSummary,
    Reference,
)

_BUILTINS = frozenset(dir(builtins))
_RECEIVER_PARAMETERS = ("self", "cls")
# Calls whose result is a container a registry can be kept in (besides literals).
_CONTAINER_CALLS = frozenset(
    {"dict", "list", "set", "collections.defaultdict", "collections.OrderedDict", "collections.deque",
     "weakref.WeakValueDictionary", "weakref.WeakKeyDictionary", "defaultdict", "OrderedDict"}
)
_PARTIAL = "functools.partial"
# Methods of a loop that wrap the coroutine they are given in a task.
_LOOP_SCHEDULERS = ("create_task", "ensure_future")
# The decorators that make a generator function a context manager (its code after `yield` is
# its exit: a lifespan's shutdown).
_CONTEXT_MANAGERS = frozenset({"contextmanager", "asynccontextmanager"})
# How a holder is kept when it is a module global (what later code of the module can confine).
_GLOBAL_HOWS = ("global", "lazy-global")
# The node types of holders.toml's pass-through expressions, and the operands they hand on.
_PASS_THROUGH = {
    "boolean-operation": (ast.BoolOp, lambda node: node.values),
    "conditional": (ast.IfExp, lambda node: (node.body, node.orelse)),
    "await": (ast.Await, lambda node: (node.value,)),
}
_TYPE_CHECKING = frozenset({"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"})


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _leaf(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@dataclass(eq=False)
class _Code:
    """A unit of code being walked: a function, or the module's top level (``parent`` None)."""

    name: str
    node: ast.AST | None
    parent: _Code | None
    is_async: bool = False
    parameters: tuple[str, ...] = ()
    method_of: str | None = None  # the class, when this is one of its methods
    class_method: bool = False
    bound_as: str = ""  # "static" or "class": records.Function.binding
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    # (dotted, line, column, called, repeated, under the `__main__` guard)
    # (dotted, line, column, called, repeated, as_program, the call's arguments or None)
    references: list[tuple[str, int, int, bool, bool, bool, tuple[str, ...] | None]] = field(default_factory=list)
    calls: list[tuple[ast.Call, str | None]] = field(default_factory=list)  # with the callee as written
    bindings: list[tuple[str, ast.expr, int]] = field(default_factory=list)
    returns: list[ast.expr] = field(default_factory=list)
    decorators: list[ast.expr] = field(default_factory=list)
    cleanups: list[str] = field(default_factory=list)  # callees that run however the work ends
    yielded: bool = False  # a context-manager function past its `yield`

    @property
    def is_function(self) -> bool:
        return self.parent is not None

    def owner_class(self) -> str | None:
        """The class whose ``self``/``cls`` this code sees (a method, or a function inside one)."""
        code: _Code | None = self
        while code is not None and code.is_function:
            if code.method_of is not None:
                return code.method_of
            code = code.parent
        return None

    def receiver_parameter(self) -> str | None:
        code: _Code | None = self
        while code is not None and code.is_function:
            if code.method_of is not None:
                return code.parameters[0] if code.parameters else None
            code = code.parent
        return None

    def is_local(self, name: str) -> bool:
        """Bound in this function or one around it (not declared global there)."""
        code: _Code | None = self
        while code is not None and code.is_function:
            if name in code.globals:
                return False
            if name in code.locals:
                return True
            code = code.parent
        return False

    def binding(self, name: str, before: int) -> ast.expr | None:
        """The last value ``name`` is bound to in this code above line ``before``."""
        found = None
        for bound, value, line in self.bindings:
            if bound == name and line <= before:
                found = value
        return found


class _Walker(ast.NodeVisitor):
    """Collects, in one walk, what the summary is made of; :func:`summarise` resolves it."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.top = _Code(MODULE_CODE, None, None)
        self.code = self.top
        self.prefix: list[str] = []
        self.class_body: str | None = None
        self.codes: list[_Code] = [self.top]
        self.imports: dict[str, str] = {}
        self.star_imports: list[str] = []
        self.classes: list[tuple[str, ast.ClassDef, list[str]]] = []
        self.module_names: set[str] = set()
        # (how, holder name, value, code) for assignments that may keep a loop-bound object.
        self.candidates: list[tuple[str, str, ast.expr, _Code]] = []
        # (container expression, value, code) for `container[key] = value`.
        self.subscript_stores: list[tuple[ast.expr, ast.expr, _Code]] = []
        self.module_containers: set[str] = set()
        self.class_containers: dict[str, set[str]] = {}
        self.module_values: dict[str, ast.expr] = {}
        # (global name, attribute, value, code) for `client.attribute = value` on a module global.
        self.global_attribute_stores: list[tuple[str, str, ast.expr, _Code]] = []
        # (global name, function) for `global name; name = None` in a function (a stop function).
        self.cleared_globals: list[tuple[str, str]] = []
        # How many loop bodies (``for``, ``while``, comprehensions) of the current code enclose
        # the walk, and the calls made inside one: they may run many times per run of the code.
        self.repeating = 0
        self.repeated_calls: set[ast.Call] = set()
        # Calls of the module's top level under `if __name__ == "__main__":`: the module run as
        # a program, not imported.
        self.in_main_guard = False
        self.main_calls: set[ast.Call] = set()
        # How many `finally:` blocks of the current code enclose the walk.
        self.finally_depth = 0

    # -- dispatch: NodeVisitor's, with each node class's handler looked up once --------

    # By node class, the function that visits it: plain functions of the class, shared by every
    # walk. (Bound methods kept on a walker would make a reference cycle through it that keeps
    # the module's whole tree alive until the garbage collector finds it.)
    _handlers: ClassVar[dict[type, Callable[[_Walker, Any], None]]] = {}

    def visit(self, node: ast.AST) -> None:
        handler = self._handlers.get(node.__class__)
        if handler is None:
            handler = getattr(type(self), f"visit_{node.__class__.__name__}", type(self).generic_visit)
            self._handlers[node.__class__] = handler
        handler(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    # -- scopes ------------------------------------------------------------------------

    def _bind(self, name: str) -> None:
        if self.class_body is not None:
            return
        if self.code.is_function:
            if name not in self.code.globals:
                self.code.locals.add(name)
        else:
            self.module_names.add(name)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_defaults(node.args)
        self._bind(node.name)
        arguments = node.args
        parameters = tuple(
            a.arg
            for a in (
                *arguments.posonlyargs,
                *arguments.args,
                *([arguments.vararg] if arguments.vararg else []),
                *arguments.kwonlyargs,
                *([arguments.kwarg] if arguments.kwarg else []),
            )
        )
        method_of = self.class_body
        code = _Code(
            ".".join([*self.prefix, node.name]),
            node,
            self.code,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            parameters=parameters,
            method_of=method_of,
            locals=set(parameters),
            decorators=list(node.decorator_list),
        )
        if method_of is not None:
            shapes = holder_shapes()
            names = {dotted_name(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
            code.class_method = bool(names & shapes.class_methods) or node.name in shapes.class_taking_methods
            if names & shapes.class_methods:
                code.bound_as = "class"
            if names & shapes.static_methods:
                code.method_of = None
                code.bound_as = "static"
        self.codes.append(code)
        saved = (self.code, self.prefix, self.class_body, self.repeating, self.finally_depth)
        self.code, self.prefix, self.class_body, self.repeating = code, [*self.prefix, node.name], None, 0
        self.finally_depth = 0
        for statement in node.body:
            self.visit(statement)
        self.code, self.prefix, self.class_body, self.repeating, self.finally_depth = saved

    def _visit_defaults(self, arguments: ast.arguments) -> None:
        for default in arguments.defaults:
            self.visit(default)
        for default in arguments.kw_defaults:
            if default is not None:
                self.visit(default)
        for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
            for value in _annotated_metadata(argument.annotation):
                self.visit(value)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_defaults(node.args)
        for argument in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            self._bind(argument.arg)
        self.visit(node.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        bases = []
        for base in node.bases:
            self.visit(base)
            written = dotted_name(base.value if isinstance(base, ast.Subscript) else base)
            if written is not None:
                bases.append(written)
        for keyword in node.keywords:
            self.visit(keyword.value)
        self._bind(node.name)
        qualified = ".".join([*self.prefix, node.name])
        self.classes.append((qualified, node, bases))
        saved = (self.prefix, self.class_body)
        self.prefix, self.class_body = [*self.prefix, node.name], qualified
        for statement in node.body:
            self.visit(statement)
        self.prefix, self.class_body = saved

    # -- loops: what runs many times per run of its code -------------------------------

    def _repeated(self, nodes: list) -> None:
        self.repeating += 1
        for node in nodes:
            self.visit(node)
        self.repeating -= 1

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)  # evaluated once
        self.visit(node.target)
        self._repeated(node.body)
        for statement in node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        self._repeated([node.test, *node.body])
        for statement in node.orelse:
            self.visit(statement)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        first, *others = node.generators
        self.visit(first.iter)  # evaluated once, in the enclosing code; the rest once per item
        elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._repeated([first.target, *first.ifs, *others, *elements])

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Try(self, node: ast.Try) -> None:
        for statement in (*node.body, *node.handlers, *node.orelse):
            self.visit(statement)
        self.finally_depth += 1
        for statement in node.finalbody:
            self.visit(statement)
        self.finally_depth -= 1

    visit_TryStar = visit_Try

    def visit_Yield(self, node: ast.Yield | ast.YieldFrom) -> None:
        if node.value is not None:
            self.visit(node.value)
        code = self.code
        if code.is_function and any(_leaf(d) in _CONTEXT_MANAGERS for d in code.decorators):
            code.yielded = True  # what follows is the context's exit

    visit_YieldFrom = visit_Yield

    def visit_Global(self, node: ast.Global) -> None:
        self.code.globals.update(node.names)
        self.code.locals.difference_update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.code.locals.update(node.names)

    # -- imports -----------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self.imports.setdefault(alias.asname, alias.name)
            else:
                head = alias.name.partition(".")[0]
                self.imports.setdefault(head, head)
            self.module_names.add(alias.asname or alias.name.partition(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self._absolute(node.module, node.level)
        if source is None:
            return
        for alias in node.names:
            if alias.name == "*":
                if source not in self.star_imports:
                    self.star_imports.append(source)
                continue
            bound = alias.asname or alias.name
            self.imports.setdefault(bound, f"{source}.{alias.name}" if source else alias.name)
            self.module_names.add(bound)

    def _absolute(self, module: str | None, level: int) -> str | None:
        """The absolute name of ``from <level dots><module> import``; None above the top."""
        if level == 0:
            return module
        parts = self.package.split(".") if self.package else []
        if level - 1 > len(parts) or (level - 1 == len(parts) and not module):
            return None
        base = parts[: len(parts) - (level - 1)]
        return ".".join([*base, *([module] if module else [])])

    def visit_If(self, node: ast.If) -> None:
        if dotted_name(node.test) in _TYPE_CHECKING:
            for statement in node.orelse:
                self.visit(statement)
            return
        if not self.code.is_function and _is_main_guard(node.test):
            self.visit(node.test)
            self.in_main_guard = True
            for statement in node.body:
                self.visit(statement)
            self.in_main_guard = False
            for statement in node.orelse:
                self.visit(statement)
            return
        self.generic_visit(node)

    # -- names, calls and stores -------------------------------------------------------

    def _reference(self, dotted: str, node: ast.expr, called: bool) -> None:
        as_program = self.in_main_guard and not self.code.is_function
        arguments = _arguments(node) if called and isinstance(node, ast.Call) else None
        self.code.references.append(
            (dotted, node.lineno, node.col_offset, called, self.repeating > 0, as_program, arguments)
        )

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._reference(node.id, node, False)
        else:
            self._bind(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            dotted = dotted_name(node)
            if dotted is not None:
                self._reference(dotted, node, False)
                return
        elif dotted_name(node.value) is not None:
            return  # `self.x = ...` sets an attribute: no read of `self`
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        dotted = dotted_name(node.func)
        self.code.calls.append((node, dotted))
        if self.repeating:
            self.repeated_calls.add(node)
        if self.in_main_guard and not self.code.is_function:
            self.main_calls.add(node)
        if dotted is not None:
            self._reference(dotted, node, True)
            if self.finally_depth or self.code.yielded:
                self.code.cleanups.append(dotted)
        else:
            func = node.func
            made_by = dotted_name(func.value.func) if isinstance(func, ast.Attribute) and isinstance(
                func.value, ast.Call
            ) else None
            if made_by is not None:  # `Deferred(...).start(fn)`: the method on the class called
                self._reference(f"{made_by}.{func.attr}", node, True)  # type: ignore[union-attr]
            self.visit(func)
        for argument in node.args:
            self.visit(argument)
        for keyword in node.keywords:
            self.visit(keyword.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._store(target, node.value)
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._store(node.target, node.value)
        if not isinstance(node.target, ast.Name):
            self.visit(node.target)
        elif node.value is not None or self.code.is_function:
            self._bind(node.target.id)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._store(node.target, node.value)
        self._bind(node.target.id)

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            if isinstance(node.optional_vars, ast.Name):
                self.code.bindings.append((node.optional_vars.id, node.context_expr, node.context_expr.lineno))
            self.visit(node.optional_vars)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.code.returns.append(node.value)
            self.visit(node.value)

    def visit_arg(self, node: ast.arg) -> None:
        pass  # parameters are bound by their function; annotations are not references

    def visit_Constant(self, node: ast.Constant) -> None:
        pass  # nothing to collect (and NodeVisitor's own visit_Constant is slow)

    def _store(self, target: ast.expr, value: ast.expr) -> None:
        """Note an assignment that may keep a loop-bound object, bind a local, or make a container."""
        code = self.code
        if isinstance(target, ast.Name):
            name = target.id
            if self.class_body is not None:
                qualified = f"{self.class_body}.{name}"
                self.candidates.append(("class-attribute", qualified, value, code))
                if self._is_container(value):
                    self.class_containers.setdefault(self.class_body, set()).add(name)
            elif not code.is_function:
                self.candidates.append(("global", name, value, code))
                if isinstance(value, ast.Call) or name not in self.module_values:
                    self.module_values[name] = value  # `_loop = None` first, a call later
                if self._is_container(value):
                    self.module_containers.add(name)
            elif name in code.globals:
                self.candidates.append(("lazy-global", name, value, code))
                if isinstance(value, ast.Constant) and value.value is None:
                    self.cleared_globals.append((name, code.name))
            else:
                code.bindings.append((name, value, target.lineno))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            owner = code.owner_class()
            if owner is not None and code.method_of is not None and target.value.id == code.receiver_parameter():
                how = "class-attribute" if code.class_method else "instance-attribute"
                self.candidates.append((how, f"{owner}.{target.attr}", value, code))
            elif not code.is_local(target.value.id):
                self.global_attribute_stores.append((target.value.id, target.attr, value, code))
        elif isinstance(target, ast.Subscript):
            self.subscript_stores.append((target.value, value, code))

    @staticmethod
    def _is_container(value: ast.expr) -> bool:
        if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp)):
            return True
        return isinstance(value, ast.Call) and dotted_name(value.func) in _CONTAINER_CALLS


def _future_made_by(call: str) -> str:
    """How messages name what a future factory returns: a Task for those that wrap a coroutine
    in one (``ensure_future``, ``create_task``), else a Future (``gather``, ``shield``)."""
    return "asyncio.Task" if call.rpartition(".")[2] in ("ensure_future", "create_task") else "asyncio.Future"


class _Resolver:
    """What the walk collected, resolved through the module's imports against the catalogue."""

    def __init__(self, walker: _Walker, catalogue: Catalogue) -> None:
        self.w = walker
        self.catalogue = catalogue
        self.api = catalogue.loop_api
        self.shapes = holder_shapes()
        self.pass_through = [_PASS_THROUGH[name] for name in self.shapes.pass_through_expressions]
        self.functions = {code.name: code for code in walker.codes if code.is_function}
        self.class_names = {name for name, _, _ in walker.classes}
        self.holders: dict[str, Holder] = {}
        self.lazy_instances: list[tuple[str, str, str]] = []
        self.made_by: dict[str, ast.Call] = {}  # the call that makes each holder's object
        # Callables of other modules handed to a seed that runs them on a loop: (as written,
        # context); ``imported`` collects them while one such seed is matched.
        self.handed: list[tuple[str, str]] = []
        self.imported: list[str] | None = None
        # (function, context, class as written, decorator method) for ``ModuleSummary.routed``;
        # while a seed is looked at, the functions its decorator methods mark on a receiver made
        # by a class the seed does not name (None: not collected).
        self.routed: list[tuple[str, str, str, str]] = []
        self.through_classes: list[tuple[str, str, str]] | None = None
        # The library classes some seed names as a receiver (or excludes): never the project's.
        self.known_receivers = frozenset().union(
            *(seed.receivers | seed.except_receivers for seed in (*catalogue.context_seeds, *catalogue.served))
        )
        self._qualified: dict[str, str] = {}
        # Every call, by the qualified name of its callee and by the method it calls: the seeds
        # and loop starts look their names up here instead of testing every call.
        self.calls_to: dict[str, list[tuple[ast.Call, _Code]]] = {}
        self.method_calls: dict[str, list[tuple[ast.Call, _Code]]] = {}
        for code in walker.codes:
            for call, dotted in code.calls:
                if dotted is not None:
                    self.calls_to.setdefault(self.qualify(dotted), []).append((call, code))
                if isinstance(call.func, ast.Attribute):
                    self.method_calls.setdefault(call.func.attr, []).append((call, code))

    def qualify(self, dotted: str) -> str:
        found = self._qualified.get(dotted)
        if found is None:
            head, dot, rest = dotted.partition(".")
            imported = self.w.imports.get(head)
            found = dotted if imported is None else f"{imported}{dot}{rest}"
            self._qualified[dotted] = found
        return found

    def qualified(self, node: ast.expr) -> str | None:
        dotted = dotted_name(node)
        return self.qualify(dotted) if dotted is not None else None

    # -- holders -----------------------------------------------------------------------

    def creation(self, value: ast.expr, code: _Code) -> tuple[str, str, ast.Call] | None:
        """(kind, what, call) when ``value`` makes a loop-bound object, or hands one on
        (``_client or Client()``, ``await create_pool()``, ``contextlib.closing(loop)``)."""
        for node_type, operands in self.pass_through:
            if isinstance(value, node_type):
                return next(filter(None, (self.creation(v, code) for v in operands(value))), None)
        if not isinstance(value, ast.Call):
            return None
        if value.args and self.qualified(value.func) in self.shapes.pass_through_calls:
            return self.creation(value.args[0], code)
        func = value.func
        qualified = self.qualified(func)
        if qualified is not None:
            names = frozenset({qualified})
            primitive = self.catalogue.primitive_of(names)
            if primitive is not None:
                return "primitive", primitive.qualified_names[0], value
            clients = [c for c in self.catalogue.clients_of(names) if not c.through]
            if clients:
                return "client", clients[0].display, value
            if qualified in self.api.future_factories or qualified in self.api.schedule_on_current_loop:
                return "future", _future_made_by(qualified), value
            if qualified in self.api.loop_factories:
                return "loop", qualified, value
        if isinstance(func, ast.Attribute):
            maker = func.value
            if isinstance(maker, ast.Name) and maker.id in self.w.module_values and not code.is_local(maker.id):
                maker = self.w.module_values[maker.id]  # `session = Session()` ... `session.client()`
            if isinstance(maker, ast.Call):
                made_by = self.qualified(maker.func)
                if made_by is not None:
                    through = [c for c in self.catalogue.clients_of(frozenset({made_by})) if func.attr in c.through]
                    if through:
                        return "client", through[0].display, value
            if func.attr in _LOOP_SCHEDULERS and self.is_loop(func.value, code):
                return "future", _future_made_by(func.attr), value
        return None

    def is_loop(self, node: ast.expr, code: _Code) -> bool:
        """A loop as far as this module can tell: a loop factory's result, a global kept from
        one, or a name that says it is one (``loop``, ``self._loop``, ``worker_loop``)."""
        if isinstance(node, ast.Call):
            called = self.qualified(node.func)
            return called is not None and (called in self.api.loop_factories or called in self.api.running_loop)
        leaf = _leaf(node)
        if leaf is None:
            return False
        if isinstance(node, ast.Name) and not code.is_local(leaf) and leaf in self.w.module_values:
            return self.is_loop(self.w.module_values[leaf], code)
        return leaf == "loop" or leaf.endswith("_loop")

    def add_holder(self, name: str, how: str, value: ast.expr, code: _Code) -> bool:
        made = self.creation(value, code)
        if made is None:
            return False
        kind, what, call = made
        if name not in self.holders:
            confined_by = self.confined_by_argument(call) if kind == "client" else ""
            self.holders[name] = Holder(name, kind, what, how, call.lineno, call.col_offset, confined_by)
            self.made_by[name] = call
        return True

    def confinements(self, call: ast.Call) -> tuple[Confinement, ...]:
        """The catalogue's ways of confining what ``call`` makes (a client's constructor)."""
        made_by = self.qualified(call.func)
        if made_by is None:
            return ()
        clients = [c for c in self.catalogue.clients_of(frozenset({made_by})) if not c.through]
        return clients[0].confined_by if clients else ()

    def confined_by_argument(self, call: ast.Call) -> str:
        """``poolclass=NullPool (why)`` when a keyword argument of ``call`` confines the client."""
        for confinement in self.confinements(call):
            for keyword in call.keywords:
                if keyword.arg == confinement.argument and self.qualified(keyword.value) in confinement.values:
                    return f"{keyword.arg}={ast.unparse(keyword.value)} ({confinement.why})"
        return ""

    def confine_globals(self) -> None:
        """Note on the module's global holders what later code of the module does to them: an
        attribute assigned that confines a client (``client.get_io_loop =
        asyncio.get_running_loop``), a function that sets the global back to None."""
        for name, attribute, value, _code in self.w.global_attribute_stores:
            held = self.holders.get(name)
            if held is None or held.kind != "client" or held.confined_by or held.how not in _GLOBAL_HOWS:
                continue
            for confinement in self.confinements(self.made_by[name]):
                if confinement.attribute == attribute and self.qualified(value) in confinement.values:
                    written = f"{name}.{attribute} = {ast.unparse(value)}"
                    self.holders[name] = replace(held, confined_by=f"{written} ({confinement.why})")
                    break
        for name, function in self.w.cleared_globals:
            held = self.holders.get(name)
            if held is not None and held.kind != "loop" and held.how in _GLOBAL_HOWS:
                if function not in held.cleared_by:
                    self.holders[name] = replace(held, cleared_by=(*held.cleared_by, function))

    def collect_holders(self) -> list[tuple[str, str]]:
        """The holders, and the module-level instances that are not holders (and those made on
        first use: ``self.lazy_instances``)."""
        instances = []
        lazy: dict[str, tuple[str, str]] = {}
        for how, name, value, code in self.w.candidates:
            if self.add_holder(name, how, value, code) or how not in _GLOBAL_HOWS:
                continue
            callee = dotted_name(value.func) if isinstance(value, ast.Call) else None
            if callee is None:
                continue
            if how == "global" and name not in dict(instances):
                instances.append((name, callee))
            elif how == "lazy-global" and name not in lazy:
                lazy[name] = (callee, "")
        for code in self.w.codes:  # the module-level functions that hand one out
            if code.is_function and code.parent is not None and not code.parent.is_function and code.method_of is None:
                for value in code.returns:
                    if isinstance(value, ast.Name) and value.id in lazy and value.id in code.globals:
                        lazy[value.id] = (lazy[value.id][0], lazy[value.id][1] or code.name)
        stores = list(self.w.subscript_stores)
        for method in self.shapes.container_stores:
            position = 1 if method == self.shapes.keyed_store else 0
            for call, code in self.method_calls.get(method, ()):
                if len(call.args) > position:
                    stores.append((call.func.value, call.args[position], code))  # type: ignore[attr-defined]
        for container, value, code in sorted(stores, key=lambda store: (store[1].lineno, store[1].col_offset)):
            name = self.container(container, code)
            if name is not None:
                self.add_holder(name, "registry", value, code)
        for code in self.w.codes:
            if code.is_function and code.decorators and self.is_cached(code):
                for value in code.returns:
                    if isinstance(value, ast.Name):
                        value = code.binding(value.id, value.lineno) or value
                    if self.add_holder(code.name, "cached", value, code):
                        break
        self.confine_globals()
        self.lazy_instances = [(name, callee, getter) for name, (callee, getter) in lazy.items() if name not in self.holders]
        return [(name, callee) for name, callee in instances if name not in self.holders]

    def derived(self) -> dict[str, str]:
        """Module-level names bound to a call given a module-level holder of this module as an
        argument (``session_factory = async_sessionmaker(engine)``), to that holder: what the
        call makes uses the holder's object (a session of the factory, the engine's pool); and
        names bound to one of those or to a holder (``async_session = session_factory``), to
        the same holder."""
        found: dict[str, str] = {}
        for how, name, value, _code in self.w.candidates:
            if how != "global" or name in self.holders:
                continue
            if isinstance(value, ast.Name):
                held = value.id if value.id in self.holders else found.get(value.id)
                if held is not None:
                    found.setdefault(name, held)
                continue
            if not isinstance(value, ast.Call):
                continue
            arguments = [*value.args, *(keyword.value for keyword in value.keywords)]
            given = [a.id for a in arguments if isinstance(a, ast.Name) and a.id in self.holders]
            if given:
                found.setdefault(name, given[0])
        return found

    def container(self, node: ast.expr, code: _Code) -> str | None:
        """The module- or class-level container ``node`` names, as a holder name."""
        if isinstance(node, ast.Name):
            if node.id in self.w.module_containers and not code.is_local(node.id):
                return node.id
            return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = node.value.id
            if owner == code.receiver_parameter():
                owner = code.owner_class() or owner
            elif owner not in self.class_names:
                # A store into a container of a class (or module) imported from elsewhere
                # (`ClientManager._pools[name] = ...`): held here, under the name as written.
                return f"{owner}.{node.attr}" if owner in self.w.imports and not code.is_local(owner) else None
            if node.attr in self.w.class_containers.get(owner, ()):
                return f"{owner}.{node.attr}"
        return None

    def is_cached(self, code: _Code) -> bool:
        for decorator in code.decorators:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualified(target) in self.shapes.function_caches:
                return True
        return False

    # -- contexts ----------------------------------------------------------------------

    def contexts(self) -> dict[str, set[str]]:
        """The contexts the module's seeds (and its served routes) put each function in; the
        callables from other modules handed to a seed whose context runs them on a loop go to
        ``self.handed``."""
        found: dict[str, set[str]] = {}
        seeds = [*((seed, seed.context) for seed in self.catalogue.context_seeds),
                 *((seed, SERVED_CONTEXT) for seed in self.catalogue.served)]
        runs = self.catalogue.context_runs
        for seed, context in seeds:
            self.imported = [] if context == SERVED_CONTEXT or runs[context].runs_on_loop else None
            self.through_classes = [] if seed.receivers and seed.decorator_methods else None
            for name in self.seeded(seed):
                if self.in_context(seed, context, name):
                    found.setdefault(name, set()).add(context)
            self.handed.extend((dotted, context) for dotted in self.imported or ())
            for name, written, method in self.through_classes or ():
                if self.in_context(seed, context, name):
                    self.routed.append((name, context, written, method))
        self.imported = self.through_classes = None
        return found

    def in_context(self, seed: ContextSeed, context: str, name: str) -> bool:
        """Whether the seed puts the module's function ``name`` in ``context`` (a server runs
        only an ``async def`` on its loop)."""
        function = self.functions.get(name)
        if function is None or not seed.applies_to(function.is_async):
            return False
        return context != SERVED_CONTEXT or function.is_async

    def seeded(self, seed: ContextSeed) -> list[str]:
        names: list[str] = []
        for callee in seed.calls:
            for call, code in self.calls_to.get(callee, ()):
                names.extend(self.handed_over(seed, call, code))
        for method in seed.methods:
            for call, code in self.method_calls.get(method, ()):
                if self.receiver_matches(seed, call.func.value, code):  # type: ignore[attr-defined]
                    names.extend(self.handed_over(seed, call, code))
        if seed.decorators or seed.decorator_methods:
            for code in self.w.codes:
                if code.decorators and any(self.decorator_matches(seed, d, code.parent) for d in code.decorators):
                    names.append(code.name)
                elif code.decorators and self.through_classes is not None:
                    for decorator in code.decorators:
                        made_by = self.receiver_class(seed, decorator, code.parent)
                        if made_by is not None:
                            self.through_classes.append((code.name, *made_by))
        if seed.subclass_of:
            for name, _, bases in self.w.classes:
                if {self.qualify(base) for base in bases} & seed.subclass_of:
                    names.extend(f"{name}.{method}" for method in seed.subclass_methods)
        if seed.class_attributes or seed.module_variable is not None:
            names.extend(self.assigned_callables(seed))
        return names

    def assigned_callables(self, seed: ContextSeed) -> list[str]:
        """The functions a seed's class attributes hand over (``class WorkerSettings: functions =
        [download]``), and those its module variable marks (``pytestmark = pytest.mark.asyncio``
        marks every function named ``test...``)."""
        names: list[str] = []
        for how, name, value, code in self.w.candidates:
            owner, _, attribute = name.rpartition(".")
            if how == "class-attribute" and attribute in seed.class_attributes:
                if owner.rpartition(".")[2] in seed.class_names:
                    names.extend(self.callables(value, code, seed.wrappers))
            elif how == "global" and name == seed.module_variable:
                marks = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
                if any(self.decorator_matches(seed, mark, code) for mark in marks):
                    prefix = seed.name_prefix or ""
                    names.extend(
                        name
                        for name, function in self.functions.items()
                        if name.rpartition(".")[2].startswith(prefix) and not self.marked_itself(seed, function)
                    )
        return names

    def marked_itself(self, seed: ContextSeed, code: _Code) -> bool:
        """Whether a function carries one of the seed's decorators, whatever its arguments: its
        own mark, which wins over the module's."""
        return any(self.qualified(d.func if isinstance(d, ast.Call) else d) in seed.decorators for d in code.decorators)

    def handed_over(self, seed: ContextSeed, call: ast.Call, code: _Code) -> list[str]:
        if not seed.first_argument_matches(_first_string(call)):
            return []
        candidates = []
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        if seed.position is not None and seed.position < len(positional):
            candidates.append(positional[seed.position])
        if seed.keyword is not None:
            candidates.extend(k.value for k in call.keywords if k.arg == seed.keyword)
        return [name for candidate in candidates for name in self.callables(candidate, code, seed.wrappers)]

    def decorator_matches(self, seed: ContextSeed, decorator: ast.expr, code: _Code) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        first = _first_string(decorator) if isinstance(decorator, ast.Call) else None
        if not (seed.decorators and self.qualified(target) in seed.decorators) and not (
            isinstance(target, ast.Attribute)
            and target.attr in seed.decorator_methods
            and self.receiver_matches(seed, target.value, code)
        ):
            return False
        return seed.first_argument_matches(first) and seed.keywords_match(_string_keywords(decorator))

    def loop_fixture(self) -> str | None:
        """The scope of the module's ``event_loop`` fixture (a module-level function of that
        name, or one its decorator's ``name=`` names so; ``function`` where the decorator gives
        no scope), None where it has none (see pytest_config)."""
        for code in self.w.codes:
            if code.method_of is not None or code.parent is not self.w.top:
                continue
            for decorator in code.decorators:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if self.qualified(target) not in FIXTURE_DECORATORS:
                    continue
                given = dict(k.split("=", 1) for k in _string_keywords(decorator))
                if given.get("name", code.name) == LOOP_FIXTURE:
                    return given.get("scope", "function")
        return None

    def receiver_class(self, seed: ContextSeed, decorator: ast.expr, code: _Code | None) -> tuple[str, str] | None:
        """The class, as written, that made the receiver of ``decorator``, a decorator method of
        ``seed`` on a name bound to a call of a class the seed does not name
        (``@SYSTEM_ROUTER.post("/")`` after ``SYSTEM_ROUTER = APIRouter()`` with the project's
        own ``APIRouter``; not a library class some seed names), and that method: the reach sees
        whether that class derives from one this seed names."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if code is None or not (isinstance(target, ast.Attribute) and target.attr in seed.decorator_methods):
            return None
        if not isinstance(target.value, ast.Name):
            return None
        bound = self.bound_value(target.value.id, target.value.lineno, code)
        written = dotted_name(bound.func) if isinstance(bound, ast.Call) else None
        if written is None or self.qualified(bound.func) in self.known_receivers:  # type: ignore[union-attr]
            return None
        first = _first_string(decorator) if isinstance(decorator, ast.Call) else None
        if not (seed.first_argument_matches(first) and seed.keywords_match(_string_keywords(decorator))):
            return None
        return written, target.attr

    def receiver_matches(self, seed: ContextSeed, receiver: ast.expr, code: _Code) -> bool:
        qualified = {self.qualified(part) for part in self.receiver_parts(receiver, code)}
        return seed.receiver_matches(_leaf(receiver), qualified - {None})

    def receiver_parts(self, receiver: ast.expr, code: _Code) -> list[ast.expr]:
        """The receiver, the callees of the chain it starts with (``schedule.every(1).do``), and
        the callee of the call a name is bound to (``pool = ThreadPoolExecutor()``)."""
        parts = [receiver]
        node = receiver
        while isinstance(node, (ast.Attribute, ast.Call)):
            node = node.value if isinstance(node, ast.Attribute) else node.func
            if isinstance(node, ast.Call):
                parts.append(node.func)
        if isinstance(receiver, ast.Name):
            bound = self.bound_value(receiver.id, receiver.lineno, code)
            if isinstance(bound, ast.Call):
                parts.append(bound.func)
        return parts

    def bound_value(self, name: str, line: int, code: _Code) -> ast.expr | None:
        """What ``name`` is bound to where ``code`` reads it: a local binding, else a global."""
        if code.is_local(name):
            scope: _Code | None = code
            while scope is not None and scope.is_function:
                if name in scope.locals:
                    return scope.binding(name, line)
                scope = scope.parent
            return None
        return self.w.module_values.get(name) or self.w.top.binding(name, line)

    def callables(self, node: ast.expr, code: _Code, wrappers: frozenset[str] = frozenset()) -> list[str]:
        """The functions of this module a callable expression may be: ``f``, ``outer.f``,
        ``self.m``/``cls.m``/``C.m``/``instance.m``, ``partial(f, ...)`` (or a call of one of
        ``wrappers`` with ``f`` first), what a lambda calls, a list of those. While
        ``self.imported`` is a list, a name imported from elsewhere (``views.index``) goes there."""
        if isinstance(node, ast.Name):
            scope: _Code | None = code
            while scope is not None and scope.is_function:
                if f"{scope.name}.{node.id}" in self.functions:
                    return [f"{scope.name}.{node.id}"]
                scope = scope.parent
            if node.id in self.functions:
                return [node.id]
            self.note_imported(node, code)
            return []
        if isinstance(node, ast.Attribute):
            cls = self.class_of(node.value, code)
            method = f"{cls}.{node.attr}"
            if cls is not None and method in self.functions:
                return [method]
            self.note_imported(node, code)
            return []
        if isinstance(node, ast.Call):
            if (self.qualified(node.func) == _PARTIAL or self.qualified(node.func) in wrappers) and node.args:
                return self.callables(node.args[0], code, wrappers)
            return []
        if isinstance(node, ast.Lambda):
            return [name for call in ast.walk(node.body) if isinstance(call, ast.Call)
                    for name in self.callables(call.func, code)]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [name for element in node.elts for name in self.callables(element, code, wrappers)]
        return []

    def note_imported(self, node: ast.expr, code: _Code) -> None:
        """Keep ``node`` as written when its first name is an import of the module (not rebound
        where it is read): a function of another module handed over."""
        if self.imported is None:
            return
        written = dotted_name(node)
        head = (written or "").partition(".")[0]
        if written is not None and head in self.w.imports and not code.is_local(head):
            self.imported.append(written)

    def class_of(self, node: ast.expr, code: _Code) -> str | None:
        """The class of this module ``node`` is, or is an instance of."""
        if isinstance(node, ast.Name):
            if node.id == code.receiver_parameter():
                return code.owner_class()
            if node.id in self.class_names:
                return node.id
            bound = self.bound_value(node.id, node.lineno, code)
            if isinstance(bound, ast.Call):
                return self.class_of(bound.func, code) if isinstance(bound.func, ast.Name) else None
            return None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.class_names:
            return node.func.id
        return None

    # -- loop starts -------------------------------------------------------------------

    def starts(self) -> dict[_Code, tuple[LoopStart, ...]]:
        """Each code's loop starts, in source order (a call is the first entry it matches)."""
        found: dict[ast.Call, tuple[_Code, LoopStart]] = {}
        for entry in self.catalogue.loop_starts:
            for callee in entry.calls:
                for call, code in self.calls_to.get(callee, ()):
                    if call not in found:
                        loop = _argument(call, entry.loop_position, entry.loop_keyword)
                        found[call] = code, self.start(entry, call, loop, code)
            for method in entry.methods:
                for call, code in self.method_calls.get(method, ()):
                    receiver = call.func.value  # type: ignore[attr-defined]
                    if call in found or (
                        entry.receivers
                        and not any(self.qualified(p) in entry.receivers for p in self.receiver_parts(receiver, code))
                    ):
                        continue
                    found[call] = code, self.start(entry, call, receiver, code)
        starts = [*found.values(), *self.decorated_starts()]
        by_code: dict[_Code, list[LoopStart]] = {}
        for code, start in sorted(starts, key=lambda item: (item[1].line, item[1].column)):
            by_code.setdefault(code, []).append(start)
        return {code: tuple(starts) for code, starts in by_code.items()}

    def decorated_starts(self) -> list[tuple[_Code, LoopStart]]:
        """The ``async def`` functions a decorator start runs (``@app.route`` on a Flask app): each
        is its own start, at its first matching decorator, running nothing else (``runs`` empty:
        the reach runs the function itself)."""
        entries = [entry for entry in self.catalogue.loop_starts if entry.decorator_methods]
        found = []
        for code in self.w.codes if entries else ():
            if not code.is_async:
                continue
            for decorator in code.decorators:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if not isinstance(target, ast.Attribute):
                    continue
                parts = {self.qualified(p) for p in self.receiver_parts(target.value, code.parent)}
                entry = next(
                    (e for e in entries if target.attr in e.decorator_methods and e.receivers & parts), None
                )
                if entry is not None:
                    start = LoopStart(entry.name, entry.lifetime, None, (), decorator.lineno, decorator.col_offset)
                    found.append((code, start))
                    break
        return found

    def start(self, entry: StartEntry, call: ast.Call, loop: ast.expr | None, code: _Code) -> LoopStart:
        lifetime, written, made_at = entry.lifetime, None, None
        if lifetime == "kept" and loop is not None:
            written = ast.unparse(loop)
            if isinstance(loop, ast.Name) and code.is_function and code.is_local(loop.id):
                bound = code.binding(loop.id, call.lineno)
                made_by = self.qualified(bound.func) if isinstance(bound, ast.Call) else None
                if made_by is not None and (made_by in self.api.new_loop or made_by in entry.receivers):
                    # The loop rules report where a local loop is made or looked up: that line
                    # names this loop too.
                    lifetime, written, made_at = "per-call", None, bound.lineno  # type: ignore[union-attr]
                elif bound is not None:
                    # The loop the local stands for: `self._loop`.
                    written, made_at = ast.unparse(bound), bound.lineno
        argument = _argument(call, entry.position, entry.keyword)
        runs = self.runs(argument, entry.callable, code) if argument is not None else ()
        repeated = call in self.w.repeated_calls
        as_program = call in self.w.main_calls
        return LoopStart(
            entry.name, lifetime, written, tuple(runs), call.lineno, call.col_offset, repeated, made_at, as_program
        )

    def runs(self, node: ast.expr, is_callable: bool, code: _Code) -> list[Reference]:
        """What a loop start runs: the callee of the coroutine it is given (through ``gather``
        and the like), the function it is given to call, or the parameter passed through."""
        if isinstance(node, ast.Call):
            callee = self.qualified(node.func)
            if is_callable and callee == _PARTIAL and node.args:
                return self.runs(node.args[0], True, code)
            if not is_callable:
                if (
                    callee in self.api.future_factories
                    or callee in self.api.coroutine_functions
                    or (isinstance(node.func, ast.Attribute) and node.func.attr in _LOOP_SCHEDULERS)
                ):
                    return [r for a in node.args for r in self.runs(a, False, code)]
                written = dotted_name(node.func)
                return [Reference(written, node.lineno, node.col_offset)] if written is not None else []
            return []
        if isinstance(node, (ast.List, ast.Tuple)):
            return [r for element in node.elts for r in self.runs(element, is_callable, code)]
        if isinstance(node, ast.Await):
            return self.runs(node.value, is_callable, code)
        if isinstance(node, ast.Lambda) and is_callable:
            return self.runs(node.body, False, code)
        written = dotted_name(node)
        if written is None:
            return []
        if isinstance(node, ast.Name) and code.is_function and node.id not in code.parameters:
            bound = code.binding(node.id, node.lineno)
            if bound is not None:
                return self.runs(bound, is_callable, code)
        passed_through = isinstance(node, ast.Name) and node.id in code.parameters
        return [Reference(written, node.lineno, node.col_offset, called=is_callable and not passed_through)]

    # -- references --------------------------------------------------------------------

    def references(self, code: _Code) -> tuple[Reference, ...]:
        # By name: [line, column, called, repeated, as_program, uses] of one reference (each
        # record made once, at the end: most names are used more than once).
        seen: dict[str, list[Any]] = {}
        globals_ = self.w.module_names
        for dotted, line, column, called, repeated, as_program, arguments in code.references:
            head = dotted.partition(".")[0]
            fresh = False
            if head in _RECEIVER_PARAMETERS and code.is_function:
                dotted = self.through_instance(dotted, line, code) or dotted
            elif code.is_local(head) and not self.nested_function(code, head):
                dotted = self.through_instance(dotted, line, code)  # type: ignore[assignment]
                if dotted is None:
                    continue
                fresh = True
            elif head in _BUILTINS and head not in globals_:
                continue
            known = seen.get(dotted)
            if known is not None:  # one reference a name: repeated if any use is, the program's if all are
                known[3] = known[3] or repeated
                known[4] = known[4] and as_program
                known[5].append(arguments)
                known[6] = known[6] and fresh
                continue
            seen[dotted] = [line, column, called, repeated, as_program, [arguments], fresh]
        return tuple(
            Reference(
                dotted, line, column, called, repeated, as_program, tuple(uses) if _passes_a_call(uses) else (), fresh
            )
            for dotted, (line, column, called, repeated, as_program, uses, fresh) in seen.items()
        )

    def through_instance(self, dotted: str, line: int, code: _Code) -> str | None:
        """A method or attribute of an object made by a call, written on the call's callee, so
        that the model can resolve it: ``tool.discover`` after ``tool = MCPTool(...)`` in this
        function (or one around it) reads ``MCPTool.discover``; ``self.runner.run`` after
        ``self.runner = Runner(...)`` in a method of the class reads ``Runner.run``. None when
        the object is not known to be made by a call (or is a holder, whose uses stay as
        written)."""
        parts = dotted.split(".")
        if parts[0] == code.receiver_parameter():
            attribute = f"{code.owner_class()}.{parts[1]}" if len(parts) > 2 else ""
            bound = None if attribute in self.holders else self.attribute_values.get(attribute)
            rest = parts[2:]
        elif code.is_local(parts[0]):
            bound, rest = self.bound_value(parts[0], line, code), parts[1:]
        else:
            return None
        if not rest or not isinstance(bound, ast.Call):
            return None
        callee = dotted_name(bound.func)
        if callee is None or code.is_local(callee.partition(".")[0]):
            return None
        return ".".join([callee, *rest])

    @cached_property
    def attribute_values(self) -> dict[str, ast.expr]:
        """``Class.attribute`` to the call an attribute set on ``self`` is made by, where every
        call assigned to it has one callee (``self.task = None`` aside)."""
        found: dict[str, ast.expr] = {}
        callees: dict[str, set[str | None]] = {}
        for how, name, value, _code in self.w.candidates:
            if how == "instance-attribute" and isinstance(value, ast.Call):
                found.setdefault(name, value)
                callees.setdefault(name, set()).add(dotted_name(value.func))
        return {name: value for name, value in found.items() if len(callees[name]) == 1}


    def nested_function(self, code: _Code, name: str) -> bool:
        """Whether ``name``, read in ``code``, is a function defined in it or in a function around
        it (the project model resolves it there, as ``outer.name``)."""
        scope: _Code | None = code
        while scope is not None and scope.is_function:
            if name in scope.globals:
                return False
            if f"{scope.name}.{name}" in self.functions:
                return True
            if name in scope.locals:
                return False
            scope = scope.parent
        return False


def _is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [side for side in sides if isinstance(side, ast.Name) and side.id == "__name__"]
    mains = [side for side in sides if isinstance(side, ast.Constant) and side.value == "__main__"]
    return len(names) == 1 and len(mains) == 1


def _argument(call: ast.Call, position: int | None, keyword: str | None) -> ast.expr | None:
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    if position is not None and position < len(positional):
        return positional[position]
    if keyword is not None:
        return next((k.value for k in call.keywords if k.arg == keyword), None)
    return None


def _string_keywords(node: ast.expr) -> frozenset[str]:
    """The keywords of a call given a string, as ``name=value`` (none for anything else)."""
    keywords = node.keywords if isinstance(node, ast.Call) else ()
    return frozenset(
        f"{k.arg}={k.value.value}"
        for k in keywords
        if isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)
    )


def _first_string(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def summarise(text: str, module: str, path: str, is_package: bool, catalogue: Catalogue) -> ModuleSummary:
    """The summary of the module ``module`` (at ``path``; ``is_package``: it is a package's
    ``__init__``) whose source is ``text``.

    Raises SyntaxError (or ValueError, for a null byte) when ``ast`` rejects the text, and
    RecursionError when the module nests deeper than the recursion limit lets ``ast.parse`` or the
    walk (two frames a level) go: the caller skips such a file, which the per-file stage reports
    (or runs this under the deep stack of ``engine/limits``).
    """
    return summarise_tree(ast.parse(text, filename=path), module, path, is_package, catalogue)


def summarise_tree(tree: ast.Module, module: str, path: str, is_package: bool, catalogue: Catalogue) -> ModuleSummary:
    """The summary of the module :func:`summarise` parses as ``tree`` (``ast.parse`` of its text:
    a tree parsed for another purpose is summarised without a second parse); RecursionError as
    there."""
    walker = _Walker(module, is_package)
    for statement in tree.body:
        walker.visit(statement)
    resolver = _Resolver(walker, catalogue)
    instances = resolver.collect_holders()
    contexts = resolver.contexts()
    starts = resolver.starts()
    functions = []
    for code in walker.codes:
        node = code.node
        functions.append(
            Function(
                name=code.name,
                is_async=code.is_async,
                line=node.lineno if node is not None else 1,
                column=node.col_offset if node is not None else 0,
                contexts=tuple(sorted(contexts.get(code.name, ()))),
                references=resolver.references(code),
                starts=starts.get(code, ()),
                parameters=code.parameters,
                cleanups=tuple(dict.fromkeys(code.cleanups)),
                lookups=keyed_lookups(code.returns, code.parameters, code.is_local, code.binding) if code.is_async else (),
                binding=code.bound_as,
            )
        )
    classes = tuple(
        Class(
            name=name,
            bases=tuple(bases),
            methods=tuple(s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))),
            line=node.lineno,
        )
        for name, node, bases in walker.classes
    )
    return ModuleSummary(
        module=module,
        path=path,
        is_package=is_package,
        imports=tuple(walker.imports.items()),
        star_imports=tuple(walker.star_imports),
        functions=tuple(functions),
        classes=classes,
        holders=tuple(sorted(resolver.holders.values(), key=lambda h: (h.line, h.column))),
        instances=tuple(instances),
        derived=tuple(resolver.derived().items()),
        handed=tuple(dict.fromkeys(resolver.handed)),
        routed=tuple(dict.fromkeys(resolver.routed)),
        loop_fixture=resolver.loop_fixture(),
        celery_pool=stated_pool(tree),
        lazy_instances=tuple(resolver.lazy_instances),
    )


def _passes_a_call(uses: tuple[tuple[str, ...] | None, ...]) -> bool:
    """Whether one of ``uses`` passes a call as an argument (only then are they kept: what a
    parameter is given is a coroutine only where it is a call)."""
    return any(argument.rpartition("=")[2] not in ("", "*", "**") for use in uses if use for argument in use)


def _arguments(call: ast.Call) -> tuple[str, ...]:
    """What ``call`` passes, as :attr:`Reference.uses` records it: each positional argument,
    then each keyword one (``name=...``), as the callee it calls when it is a call of a name
    (``generate`` for ``generate(user_id)``), else ``""``; ``*`` for ``*args``, ``**`` for
    ``**kwargs``."""

    def made_by(value: ast.expr) -> str:
        called = dotted_name(value.func) if isinstance(value, ast.Call) else None
        return called or ""

    positional = ["*" if isinstance(a, ast.Starred) else made_by(a) for a in call.args]
    keywords = ["**" if k.arg is None else f"{k.arg}={made_by(k.value)}" for k in call.keywords]
    return (*positional, *keywords)


def _annotated_metadata(annotation: ast.expr | None) -> list[ast.expr]:
    """The metadata of an ``Annotated[T, x, ...]`` annotation (``x, ...``): values made when the
    function is defined, as its defaults are (FastAPI's ``Annotated[Session, Depends(get_db)]``);
    the rest of an annotation names types, not references."""
    if not isinstance(annotation, ast.Subscript) or not isinstance(annotation.slice, ast.Tuple):
        return []
    value = annotation.value
    name = value.id if isinstance(value, ast.Name) else value.attr if isinstance(value, ast.Attribute) else None
    return annotation.slice.elts[1:] if name == "Annotated" else []
