"""The candidate stage: which rules can report anything in a file, decided before any LibCST
work. Each rule declares what its findings start from (``starts.Start``: calls of catalogue entries
or the loop API, method calls, where they stand, how their result is kept); from those
declarations come

1. a text test: a call of ``asyncio.Lock`` needs the word ``asyncio`` where a module's name is
   bound (``module_words``: an import line, or the name written as a string, which a binding
   other than an import all but always names: ``sys.modules["asyncio"]``,
   ``importlib.import_module("asyncio")``, a lazy loader's ``load("httpx")``) and ``Lock`` in the
   file (the call or an import names the object), a method call its name; a file without the
   words of any start is done. (A module's name bound from something else, ``asyncio =
   compat.asyncio``, is not seen: the file is done, as if it named no module.)
2. an ``ast`` scan (the C parser): the calls and methods, resolved through the file's imports, where
   each stands (module level, class body, default value, function, coroutine), and the shapes some
   rules need (the result stored beyond the call, a process-wide instance of a class of the file).

Both over-approximate the rules: they may keep a file no rule reports on, never drop one a rule
would report on (a test runs every fixture, example and the corpus with the stage on and off).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from loopcheck.data.catalogue import Catalogue, holder_shapes
from loopcheck.prefilter.starts import FUNCTION_BODIES, Start, Where, groups

# The holder shapes the analysis recognises too (data/holders.toml).
FUNCTION_CACHES = holder_shapes().function_caches
CONTAINER_STORES = holder_shapes().container_stores
# Methods whose first parameter is not an instance.
NOT_ON_AN_INSTANCE = holder_shapes().class_methods | holder_shapes().static_methods
# The nodes of the expressions that hand a value on unchanged (data/holders.toml names them).
NODES_OF_PASS_THROUGH = {"boolean-operation": ast.BoolOp, "conditional": ast.IfExp, "await": ast.Await}
PASS_THROUGH = tuple(NODES_OF_PASS_THROUGH[name] for name in holder_shapes().pass_through_expressions)
# Calls that hand their argument on (`contextlib.closing(x)`), by their last name: the stage
# resolves no import here, and looking through one call too many only keeps a file more.
PASS_THROUGH_CALL_NAMES = frozenset(name.rpartition(".")[2] for name in holder_shapes().pass_through_calls)
# Expressions above a value that leave its holder untold (`value.attribute`): it counts as any.
UNFOLLOWED = (*PASS_THROUGH, ast.Attribute)


@dataclass(frozen=True)
class FoundCall:
    name: str  # qualified
    where: Where
    kept: bool  # stored beyond the call (not on `self`)
    on_self: bool  # stored on an attribute (or in a container) of `self`
    klass: str | None  # the module-level class whose method makes the call


@dataclass
class FileShape:
    """What the ast scan found in one file."""

    calls: list[FoundCall] = field(default_factory=list)  # calls of catalogued names
    methods: set[tuple[str, Where]] = field(default_factory=set)  # (method name, where)
    shared_classes: set[str] = field(default_factory=set)  # process-wide instances are made of
    has_context_seed: bool = False  # some callable is handed to a thread, executor, ...


class Candidates:
    """The candidate stage for a set of rules (each with a ``code`` and ``starts_from``)."""

    def __init__(self, rules: Iterable[object], catalogue: Catalogue) -> None:
        self.groups = groups(catalogue)
        self.starts: dict[str, tuple[Start, ...]] = {
            rule.code: tuple(getattr(rule, "starts_from", ())) for rule in rules  # type: ignore[attr-defined]
        }
        names: set[str] = set()
        methods: set[str] = set()
        for starts in self.starts.values():
            for start in starts:
                for group in (*start.calls, *start.also_calls):
                    names |= self.groups[group]
                methods.update(start.methods, start.also_methods)
        self.names = frozenset(names)
        self.method_names = frozenset(methods)
        self.seeds = ContextSeeds(catalogue)
        # The text test. Every start is a call, and a call's text ends with the last part of
        # the name it resolves to, then `(`: `asyncio.Lock(`, `Lock(` after `from asyncio import
        # Lock`, `locks.Lock(`; only an import alias (`import Lock as L`) calls it otherwise. The
        # other parts of the name are in the file too (imports name the modules).
        others: dict[str, set[tuple[str, ...]]] = {name: {()} for name in methods}
        for name in names:
            *rest, tail = name.split(".")
            others.setdefault(tail, set()).add(tuple(rest))
        self.others = {tail: tuple(found) for tail, found in sorted(others.items())}
        # First, cheaply: the files that name none of the modules and methods at all. A name's
        # first part is a module: it is looked for where a module's name is bound (the import
        # lines, and the module names written as strings: module_words), a method's name in the
        # whole text. Shortest first, each with the others looked for where it is and inside it
        # (``httpx`` in ``httpx2``, ``asyncio`` in ``nest_asyncio``): where one of those is
        # missing, so is the word, not looked for then.
        modules = {name.partition(".")[0] for name in names} - methods
        words = sorted(modules | methods, key=lambda word: (len(word), word))
        self.words = tuple(
            (
                word,
                tuple(o for o in words if o != word and o in word and (o in modules) == (word in modules)),
                word in modules,
            )
            for word in words
        )
        # Whether such a word is in a text is known once they are looked for (a method's name, as
        # the last part of its names): not looked for again.
        self.looked_for = frozenset(words)
        self.quoted = quoted_pattern(modules)
        self.calls: dict[str, re.Pattern[str]] = {}  # by last part of a name (call_pattern)

    def call_pattern(self, tail: str) -> re.Pattern[str]:
        """The text test's pattern for a last part of a name, made on first use: a file needs
        those of the names it holds only, and a rule's declaration, checked against its
        examples, none (it needs only the ``ast`` scan)."""
        pattern = self.calls.get(tail)
        if pattern is None:
            # Between a name and its call's `(` may stand white space, a line continuation or
            # `)`. One pattern per name, starting with the name itself: the regular expression
            # engine then scans for that literal (much faster than one alternation of every
            # name). A method counts when merely referenced (`run = loop.run_until_complete`).
            ending = r"\b" if tail in self.method_names else r"[\s\\)]*\(|" + re.escape(tail) + r"\s+as\s"
            pattern = self.calls[tail] = re.compile(re.escape(tail) + ending)
        return pattern

    # -- 1. words -------------------------------------------------------------------------

    def may_match(self, text: str) -> bool:
        """The text test: some start's name (or method) is called, or imported under an alias,
        and the other parts of its name are in ``text``."""
        # Each `in` reads the whole text where the word is missing: the first parts of the names
        # are looked for once, and a last part only where one of its names' first parts is there.
        present: set[str] = set()
        imports = module_words(text, import_lines(text), self.quoted)
        for word, inside, module in self.words:
            if (not inside or all(part in present for part in inside)) and word in (imports if module else text):
                present.add(word)
        if not present:
            return False
        looked_for = self.looked_for
        for tail, rests in self.others.items():
            if any(parts_in(rest, present, text) for rest in rests) and (
                tail in present if tail in looked_for else tail in text
            ):
                if any(starts_word(text, m.start()) for m in self.call_pattern(tail).finditer(text)):
                    return True
        return False

    # -- 2. constructs --------------------------------------------------------------------

    def rules_for(self, tree: ast.AST) -> set[str]:
        """The codes of the rules whose starts the parsed file holds."""
        shape = self.shape_of(tree)
        return {code for code, starts in self.starts.items() if any(self.holds(shape, s) for s in starts)}

    def shape_of(self, tree: ast.AST) -> FileShape:
        return scan(tree, self.names, self.method_names, self.seeds)

    def holds(self, shape: FileShape, start: Start) -> bool:
        if not self._present(shape, start):
            return False
        for group in start.also_calls:
            if not any(call.name in self.groups[group] for call in shape.calls):
                return False
        return all(any(method == name for method, _ in shape.methods) for name in start.also_methods)

    def _present(self, shape: FileShape, start: Start) -> bool:
        where = start.places
        wanted = frozenset().union(*(self.groups[group] for group in start.calls))
        for call in shape.calls:
            if call.name not in wanted or call.where not in where:
                continue
            if start.kept and not call.kept:
                continue
            if start.on_shared_instance and not (call.on_self and call.klass in shape.shared_classes):
                continue
            if start.in_known_context and call.where in FUNCTION_BODIES and not shape.has_context_seed:
                continue
            return True
        return any(
            method in start.methods
            and place in where
            and not (start.in_known_context and place in FUNCTION_BODIES and not shape.has_context_seed)
            for method, place in shape.methods
        )


def parts_in(parts: tuple[str, ...], present: set[str], text: str) -> bool:
    """Whether the parts of a name before its last (``parts``) are all in ``text``, the first
    one being looked up among the words already found ``present`` there (each `in` reads the
    whole text where the word is missing: a first part shared by many names is looked for once)."""
    return not parts or (parts[0] in present and all(part in text for part in parts[1:]))


def import_lines(text: str) -> str:
    """The lines of ``text`` that say ``import`` (``import_module`` and ``__import__`` too), each
    with the lines a backslash joins to it, and a parenthesised list's lines up to its ``)``: all
    the text that can name a module an import binds, and little more (most lines say no such
    thing, and looking for a word in them is cheaper than in the whole text)."""
    found = text.find("import")
    if found == -1:
        return ""
    spans: list[str] = []
    while found != -1:
        start = text.rfind("\n", 0, found) + 1
        # A statement a backslash continues onto this line (``from asyncio \`` then ``import x``).
        while _continued(text, start - 1):
            start = text.rfind("\n", 0, start - 1) + 1
        end = text.find("\n", found)
        while end != -1 and _continued(text, end):
            end = text.find("\n", end + 1)
        if end == -1:
            end = len(text)
        opened = text.rfind("(", start, end)
        if opened != -1 and text.find(")", opened, end) == -1:
            closed = text.find(")", end)
            end = len(text) if closed == -1 else closed + 1
        spans.append(text[start:end])
        found = text.find("import", end)
    return "\n".join(spans)


def quoted_pattern(modules: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for each of ``modules`` written as a string (``"asyncio"``, ``'httpx'``)."""
    names = sorted(set(modules), key=lambda name: (-len(name), name))
    return re.compile(r"[\"'](?:" + "|".join(map(re.escape, names)) + r")[\"']") if names else None


def module_words(text: str, imports: str, quoted: re.Pattern[str] | None) -> str:
    """Where ``text`` may bind a module's name: its import lines (``imports``), then the module
    names ``quoted`` finds written as strings (a module bound otherwise than by an import is all
    but always named so: ``sys.modules["asyncio"]``, ``importlib.import_module("asyncio")``,
    ``httpx = lazy.load("httpx")``)."""
    found = quoted.findall(text) if quoted is not None else []
    return "\n".join([imports, *found]) if found else imports


def _continued(text: str, newline: int) -> bool:
    """Whether a backslash ends the line that ends at ``newline`` (an index of ``\\n``)."""
    before = text[max(newline - 2, 0) : max(newline, 0)]
    return before.endswith("\\") or before == "\\\r"


def starts_word(text: str, index: int) -> bool:
    """Whether no word character (``\\w``) stands right before ``index``."""
    return index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_")


class ContextSeeds:
    """The names the execution-context seeds (data/contexts.toml) are recognised by."""

    def __init__(self, catalogue: Catalogue) -> None:
        qualified: set[str] = set()
        methods: set[str] = set()
        decorator_methods: set[str] = set()
        for seed in catalogue.context_seeds:
            qualified |= seed.calls | seed.decorators | seed.subclass_of
            methods |= seed.methods
            decorator_methods |= seed.decorator_methods
        self.qualified = frozenset(qualified)
        self.methods = frozenset(methods)
        self.decorator_methods = frozenset(decorator_methods)


def dotted_name(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


# Expressions whose frames are kept, to find a value's holder above them.
PASS_THROUGH_TYPES = frozenset({*PASS_THROUGH, ast.Attribute, ast.Call})
# Nodes the walk neither notes nor enters and that hold no node it does: names, constants,
# contexts and operators (three in five of a tree's nodes) are not walked at all.
BARE_TYPES = frozenset(
    {ast.Name, ast.Constant}.union(
        *(base.__subclasses__() for base in (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop))
    )
)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Frame:
    """Where a node stands: the kind of code, its parent, the function and class around it."""

    __slots__ = ("where", "parent", "function", "klass")

    def __init__(self, where: Where, parent: ast.AST | None, function: ast.AST | None, klass: str | None):
        self.where = where
        self.parent = parent
        self.function = function
        self.klass = klass


def scan(tree: ast.AST, names: frozenset[str], methods: frozenset[str], seeds: ContextSeeds) -> FileShape:
    """The shape of ``tree``: one walk over it, then the calls it found, resolved through the
    file's imports (``names``: the qualified names to look for, ``methods``: the method names)."""
    walk = _Walk(methods, seeds)
    walk.walk(tree)
    return walk.resolve(names)


def _default_places(where: Where) -> tuple[Where, ...]:
    """Where the defaults of a `def` that stands in ``where`` run. A default is evaluated once per
    `def`: at import, or at each call of the function around it, so in a plain function it is
    both (the analysis calls it a default), and in a coroutine it runs under the running loop."""
    if where in (Where.MODULE, Where.CLASS):
        return (Where.DEFAULT,)
    if where is Where.FUNCTION:
        return (Where.DEFAULT, Where.FUNCTION)
    return (where,)


class _Walk:
    """The walk of :func:`scan` (an explicit stack: deep code cannot overflow it). Functions,
    lambdas and classes give their parts frames of their own; other nodes are noted (imports,
    scope declarations, method references, calls), then their children walked in their frame."""

    def __init__(self, methods: frozenset[str], seeds: ContextSeeds) -> None:
        self.methods = methods
        self.seeds = seeds
        self.shape = FileShape()
        self.aliases: dict[str, str] = {}
        self.calls: list[tuple[str, ast.AST, _Frame]] = []  # dotted names, resolved once imports are known
        self.references: list[tuple[str, _Frame]] = []  # decorators and bases, for the context seeds
        self.local_classes: set[str] = set()
        self.local_functions: set[str] = set()
        self.declares_scope: set[int] = set()  # functions with `global`/`nonlocal` statements
        # the frames of expressions that pass a value on (`x or y`, `await x`, `x.start()`), so that
        # a call's holder can be looked for above them
        self.outer: dict[int, _Frame] = {}
        self.stack: list[tuple[ast.AST, _Frame]] = []
        # By node type, what the walk does there: functions of the class, given the walk when
        # called (bound methods kept on the walk would make a reference cycle through it, which
        # keeps the file's tree alive after the scan until the garbage collector finds it).
        self.scopes: dict[type, Callable[..., None]] = {
            ast.FunctionDef: _Walk.enter_function,
            ast.AsyncFunctionDef: _Walk.enter_function,
            ast.Lambda: _Walk.enter_lambda,
            ast.ClassDef: _Walk.enter_class,
        }
        self.notes: dict[type, Callable[..., None]] = {
            ast.Import: _Walk.note_import,
            ast.ImportFrom: _Walk.note_import_from,
            ast.Global: _Walk.note_scope_declaration,
            ast.Nonlocal: _Walk.note_scope_declaration,
            ast.Attribute: _Walk.note_method_reference,
            ast.Call: _Walk.note_call,
        }

    def walk(self, tree: ast.AST) -> None:
        stack, scopes, notes, outer = self.stack, self.scopes, self.notes, self.outer
        push, AST, bare = stack.append, ast.AST, BARE_TYPES
        push((tree, _Frame(Where.MODULE, None, None, None)))
        while stack:
            node, frame = stack.pop()
            kind = type(node)
            enter = scopes.get(kind)
            if enter is not None:
                enter(self, node, frame)
                continue
            note = notes.get(kind)
            if note is not None:
                note(self, node, frame)
            if kind in PASS_THROUGH_TYPES:
                outer[id(node)] = frame
            child_frame = _Frame(frame.where, node, frame.function, frame.klass)
            # ast.iter_child_nodes, inlined: its two generators cost more than the walk's work
            for name in node._fields:
                field = getattr(node, name, None)
                if isinstance(field, AST):
                    if type(field) not in bare:
                        push((field, child_frame))
                elif isinstance(field, list):
                    for item in field:
                        if isinstance(item, AST) and type(item) not in bare:
                            push((item, child_frame))

    # -- scopes ---------------------------------------------------------------------------

    def enter_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, frame: _Frame) -> None:
        if frame.where is Where.MODULE:
            self.local_functions.add(node.name)
        stack = self.stack
        args = node.args
        for default in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            for where in _default_places(frame.where):
                stack.append((default, _Frame(where, node, frame.function, frame.klass)))
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            self.references.append((dotted_name(target) or "", frame))
            stack.append((decorator, _Frame(frame.where, node, frame.function, frame.klass)))
        body = Where.COROUTINE if type(node) is ast.AsyncFunctionDef else Where.FUNCTION
        inner = _Frame(body, node, node, frame.klass)
        for statement in node.body:
            stack.append((statement, inner))

    def enter_lambda(self, node: ast.Lambda, frame: _Frame) -> None:
        self.stack.append((node.body, _Frame(Where.FUNCTION, node, node, frame.klass)))

    def enter_class(self, node: ast.ClassDef, frame: _Frame) -> None:
        at_module = frame.where is Where.MODULE
        if at_module:
            self.local_classes.add(node.name)
        for child in (*node.bases, *node.keywords, *node.decorator_list):
            self.references.append((dotted_name(child) or "", frame))
            self.stack.append((child, _Frame(frame.where, node, frame.function, frame.klass)))
        body = Where.CLASS if frame.where in (Where.MODULE, Where.CLASS) else frame.where
        inner = _Frame(body, node, frame.function, node.name if at_module else frame.klass)
        for statement in node.body:
            self.stack.append((statement, inner))

    # -- notes ----------------------------------------------------------------------------

    def note_import(self, node: ast.Import, frame: _Frame) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.partition(".")[0]
                self.aliases.setdefault(root, root)

    def note_import_from(self, node: ast.ImportFrom, frame: _Frame) -> None:
        if node.module and not node.level:
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def note_scope_declaration(self, node: ast.AST, frame: _Frame) -> None:
        if frame.function is not None:
            self.declares_scope.add(id(frame.function))

    def note_method_reference(self, node: ast.Attribute, frame: _Frame) -> None:
        # Not only called: `run = loop.run_until_complete` is a bound-method alias.
        if node.attr in self.methods and isinstance(node.ctx, ast.Load):
            self.shape.methods.add((node.attr, frame.where))

    def note_call(self, node: ast.Call, frame: _Frame) -> None:
        func = node.func
        name = dotted_name(func)
        if name is not None:
            self.calls.append((name, node, frame))
        elif isinstance(func, ast.Attribute) and func.attr == "__new__":
            self.calls.append(("__new__", node, frame))  # `super().__new__(cls)`
        if isinstance(func, ast.Attribute):
            if func.attr in self.methods:
                self.shape.methods.add((func.attr, frame.where))
            if func.attr in self.seeds.methods:
                self.shape.has_context_seed = True

    # -- after the walk, when the imports are known ----------------------------------------

    def qualified(self, name: str) -> str:
        first, _, rest = name.partition(".")
        return self.aliases.get(first, first) + ("." + rest if rest else "")

    def cached(self, function: ast.AST | None) -> bool:
        """Decorated with a function cache (its result outlives the call)."""
        decorators = getattr(function, "decorator_list", ())
        return any(
            self.qualified(dotted_name(d.func if isinstance(d, ast.Call) else d) or "") in FUNCTION_CACHES
            for d in decorators
        )

    def resolve(self, names: frozenset[str]) -> FileShape:
        """The shape, once every call found is resolved through the file's imports."""
        shape, seeds = self.shape, self.seeds
        for name, call, frame in self.calls:
            resolved = self.qualified(name)
            frame = _holder_frame(call, frame, self.outer)
            if resolved in names:
                kept, on_self = _kept(call, frame, self.declares_scope, self.cached)
                shape.calls.append(FoundCall(resolved, frame.where, kept, on_self, frame.klass))
            shared = self.shared_class(name, frame)
            if shared is not None:
                shape.shared_classes.add(shared)
            if resolved in seeds.qualified or (frame.where is Where.MODULE and name in self.local_functions):
                shape.has_context_seed = True
        if any(
            self.qualified(name) in seeds.qualified or name.rpartition(".")[2] in seeds.decorator_methods
            for name, _ in self.references
        ):
            shape.has_context_seed = True
        return shape

    def shared_class(self, name: str, frame: _Frame) -> str | None:
        """The class of the file a call of ``name`` makes a process-wide instance of: made at
        module level or in a class body, or kept beyond the call that makes it (a singleton
        getter's global, a cached factory's return, a class-level `_instance`); `cls()` makes one
        of its own class."""
        if name in self.local_classes and (frame.where in (Where.MODULE, Where.CLASS) or self.shared(frame)):
            return name
        if name == "cls" and frame.klass is not None and self.shared(frame):
            return frame.klass
        if (
            name.endswith("__new__")
            and frame.klass is not None
            and getattr(frame.function, "name", None) == "__new__"
            and self.shared(frame)
        ):
            return frame.klass  # `cls._instance = super().__new__(cls)`
        return None

    def shared(self, frame: _Frame) -> bool:
        return _shared(frame, self.declares_scope, self.cached)


def _holder_frame(node: ast.AST, frame: _Frame, outer: dict[int, _Frame]) -> _Frame:
    """The frame of the expression a value is stored from: above ``x or <value>``, ``await
    <value>``, ``contextlib.closing(<value>)`` and ``<value>.start()`` (a method of the
    catalogue's through-chains)."""
    while id(frame.parent) in outer:
        parent = frame.parent
        if isinstance(parent, PASS_THROUGH) or _passes_on(parent, node):
            node, frame = parent, outer[id(parent)]  # type: ignore[assignment]
            continue
        if isinstance(parent, ast.Attribute) and parent.value is node:
            above = outer[id(parent)]
            if isinstance(above.parent, ast.Call) and above.parent.func is parent and id(above.parent) in outer:
                node, frame = above.parent, outer[id(above.parent)]
                continue
        break
    return frame


def _passes_on(parent: ast.AST | None, node: ast.AST) -> bool:
    """Whether ``parent`` is a pass-through call with ``node`` as its sole argument."""
    if not isinstance(parent, ast.Call) or len(parent.args) != 1 or parent.args[0] is not node:
        return False
    name = dotted_name(parent.func)
    return name is not None and name.rpartition(".")[2] in PASS_THROUGH_CALL_NAMES


def _kept(
    call: ast.AST, frame: _Frame, declares_scope: set[int], cached: Callable[[ast.AST | None], bool]
) -> tuple[bool, bool]:
    """(stored beyond the call, stored on ``self``), looking at the expression above the value.
    What the scan cannot tell counts as both."""
    parent, function = frame.parent, frame.function
    if isinstance(parent, UNFOLLOWED):
        return True, True
    if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        kept = on_self = False
        for target in targets:
            if isinstance(target, ast.Name):
                kept |= function is None or id(function) in declares_scope
            elif isinstance(target, ast.Attribute) and _is_self(target.value, function):
                on_self = True  # self.x: an instance's attribute
            else:
                # cls.x, Class.x, registry[key], self.registry[key] (a class-level registry)
                kept = True
                on_self |= isinstance(target, ast.Subscript)
        return kept, on_self
    if isinstance(parent, ast.Call):
        func = parent.func
        stored = isinstance(func, ast.Attribute) and func.attr in CONTAINER_STORES
        return stored, stored
    if isinstance(parent, ast.Return):
        return cached(function), False
    return False, False


def _shared(frame: _Frame, declares_scope: set[int], cached: Callable[[ast.AST | None], bool]) -> bool:
    """Whether an instance made by ``call`` is kept for the process: in a global, a class
    attribute, or returned by a decorated (cached) function; not in ``self`` or a registry."""
    parent, function = frame.parent, frame.function
    if isinstance(parent, UNFOLLOWED):
        return True
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        return any(
            (isinstance(t, ast.Name) and (function is None or id(function) in declares_scope))
            or (isinstance(t, ast.Attribute) and not _is_self(t.value, function))
            for t in targets
        )
    return isinstance(parent, ast.Return) and cached(function)


def _is_self(node: ast.AST, function: ast.AST | None) -> bool:
    """``self``: the first parameter of a method that is not a class method."""
    if not isinstance(node, ast.Name) or not isinstance(function, FUNCTIONS):
        return False
    params = [*function.args.posonlyargs, *function.args.args]
    if not params or params[0].arg != node.id or function.name in holder_shapes().class_taking_methods:
        return False  # `__new__`, `__init_subclass__`... take the class, not an instance
    return not any(dotted_name(d) in NOT_ON_AN_INSTANCE for d in function.decorator_list)
