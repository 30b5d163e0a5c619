from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Holder
from loopcheck.analysis.tree import Site, all_params, has_docstring
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.per_loop import ACCESSOR_NAMES, snake_case
from loopcheck.fixes.statements import place_at_top_level
from loopcheck.fixes.templates import code_of, parse_statements
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.primitives.base import NEVER_BOUND, PrimitiveRule


class DefaultArgumentPrimitive(PrimitiveRule):
    code = "LCK103"
    name = "default-argument-asyncio-primitive"
    summary = "asyncio primitive created in a default argument value"
    fix_kind = "unsafe"
    instead = "default to None and create it inside the coroutine"
    starts_from = (Start(calls=("primitives",), where=(Where.DEFAULT,)),)

    docs = RuleDocs(
        tier_reason=(
            "Every call that omits the argument shares the object; contended use under a second loop "
            "raises `RuntimeError: ... is bound to a different event loop`."
        ),
        what_it_does="""\
Finds asyncio primitives created in the default value of a function parameter, as in
`async def fetch(url, limit=asyncio.Semaphore(10))`. """ + NEVER_BOUND,
        why_is_this_bad="""\
A default value is evaluated once, when the `def` statement runs (usually at import), and the same
object is passed to every call that omits the argument. Every event loop of the process then shares
it: under a second loop (another `asyncio.run()`, a Celery task, a thread, a test) contended use
fails with `RuntimeError: ... is bound to a different event loop`. It is the mutable-default trap,
with an event loop attached.""",
        example="""\
import asyncio


async def fetch(url, limit=asyncio.Semaphore(10)):
    async with limit:
        ...""",
        use_instead="""\
Default to `None` and take the object for the running loop inside the coroutine. The fix keeps the
object shared between calls (as the default was) but makes one per event loop:

```python
async def fetch(url, limit=None):
    if limit is None:
        limit = _get_fetch_limit()
    async with limit:
        ...
```

with `_get_fetch_limit()` the per-loop accessor described in LCK101.""",
        fix_safety="""\
Unsafe, and offered only for coroutine functions (whose body runs under a loop). The accessor lives
at module level and runs the constructor later: a default that reads a variable of a class body or
of an enclosing function, or a module global bound again later, gets no fix (the message says
why). Callers that pass
`None` explicitly now get the shared object instead of `None`. An annotated parameter becomes
`X | None` where that can be evaluated on the target Python (3.10 and newer, or a module with
`from __future__ import annotations`); a quoted annotation becomes `"X | None"` (`"X" | None`
fails on every version); elsewhere it becomes `typing.Optional[X]`.""",
        affected_versions="""\
All supported versions; from 3.10 the failure appears under the second loop (lazy binding), on
3.9 and older under the first.""",
        references=(
            "https://docs.python.org/3/reference/compound_stmts.html#function-definitions",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\nasync def fetch(url, limit=asyncio.Semaphore(10)):\n    pass\n",
            message=(
                "2:28 asyncio.Semaphore in the default of `limit` is created once, at definition, "
                "and shared by every event loop; a second loop fails with 'is bound to a different "
                "event loop' once tasks have had to wait for it under two loops"
            ),
            fix=(
                "import asyncio\n"
                "_fetch_limit_by_loop = {}\n"
                "\n"
                "\n"
                "def _get_fetch_limit():\n"
                '    """The running event loop\'s semaphore, created on first use under that loop."""\n'
                "    loop = asyncio.get_running_loop()\n"
                "    # Forget closed loops: the cached objects hold their loop, so nothing else would free it.\n"
                "    for stale in [other for other in list(_fetch_limit_by_loop) if other.is_closed()]:\n"
                "        _fetch_limit_by_loop.pop(stale, None)\n"
                "    if loop not in _fetch_limit_by_loop:\n"
                "        _fetch_limit_by_loop[loop] = asyncio.Semaphore(10)\n"
                "    return _fetch_limit_by_loop[loop]\n"
                "\n"
                "\n"
                "async def fetch(url, limit=None):\n"
                "    if limit is None:\n"
                "        limit = _get_fetch_limit()\n"
                "    pass\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "import asyncio\ndef make(done=asyncio.Event()):\n    return done\n"
            "async def finished():\n    await make().wait()\n",
            message=(
                "2:15 asyncio.Event in the default of `done` is created once, at definition, and "
                "shared by every event loop; a second loop fails with 'is bound to a different "
                "event loop' once tasks have waited on it under two loops; no fix: `make()` is not "
                "a coroutine, and a per-loop object needs a running loop"
            ),
        ),
    )
    valid = (
        # An Event binds to a loop only in wait(): set, cleared and tested, it is a flag.
        Valid("import asyncio\nasync def finish(done=asyncio.Event()):\n    done.set()\n"),
        Valid(
            "import asyncio\nasync def fetch(url, limit=None):\n"
            "    limit = limit or asyncio.Semaphore(10)\n",
        ),
        Valid(
            "import asyncio\nasync def outer():\n    def inner(lock=asyncio.Lock()):\n"
            "        return lock\n",
        ),
    )

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> str:
        assert site.param is not None
        return (
            f"asyncio.{primitive.name} in the default of `{site.param.name.value}` is "
            f"created once, at definition, and shared by every event loop; a second loop fails "
            f"with '{primitive.error}' {primitive.fails_once}"
        )

    def fix_for(
        self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        function, param = site.owner, site.param
        assert isinstance(function, cst.FunctionDef) and param is not None
        if function.asynchronous is None:
            # The accessor the fix calls in the body needs a running loop.
            return NoFix(f"`{function.name.value}()` is not a coroutine, and a per-loop object needs a running loop")
        if param.default is not call:
            return NoFix("the default is more than the constructor call")
        if not isinstance(function.body, cst.IndentedBlock):
            return NoFix(f"the body of `{function.name.value}()` is on the `def` line")
        reason = self.fixes.cannot_move(call)
        if reason is not None:
            return NoFix(reason)
        tree = self.analysis.tree
        name = param.name.value
        # the guard calls the accessor in the function's own scope
        cache, accessor = self.fixes.names(
            f"{snake_case(function.name.value)}_{snake_case(name)}", [function.body]
        )

        def build() -> tuple:
            builder = FixBuilder(self.context)
            statements = self.fixes.accessor_statements(builder, primitive, call, cache, accessor)
            guard = parse_statements(f"if {name} is None:\n    {name} = {accessor}()\n")

            def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
                assert isinstance(updated, cst.FunctionDef)
                body = list(updated.body.body)
                at = 1 if has_docstring(body) else 0
                new_params = updated.params.deep_replace(
                    next(p for p in all_params(updated.params) if p.name.value == name),
                    _none_default(param, builder),
                )
                return updated.with_changes(
                    params=new_params,
                    body=updated.body.with_changes(body=[*body[:at], *guard, *body[at:]]),
                )

            builder.change(function, rewrite)
            anchor = tree.top_level_statement(function)
            place_at_top_level(builder, tree, anchor, statements, where="before")
            return builder.build()

        return self.propose(
            Safety.UNSAFE,
            f"Default `{name}` to None and use one {primitive.name} per event loop",
            build,
            ACCESSOR_NAMES,
        )


def _none_default(param: cst.Param, builder: FixBuilder) -> cst.Param:
    annotation = param.annotation
    if annotation is not None and "None" not in code_of(annotation.annotation):
        annotation = annotation.with_changes(annotation=_or_none(annotation.annotation, builder))
    return param.with_changes(default=cst.Name("None"), annotation=annotation)


def _or_none(annotation: cst.BaseExpression, builder: FixBuilder) -> cst.BaseExpression:
    """The annotation that also admits None, written so that evaluating it works where the code
    must run: ``X | None`` needs 3.10 at run time (or postponed annotations), and ``"X" | None``
    fails everywhere (a str has no ``|``), so a quoted annotation is extended inside its quotes;
    ``typing.Optional[X]`` otherwise."""
    context = builder.context
    union = context.supports((3, 10)) or "__future__.annotations" in context.analysis.imports.objects
    if union and not isinstance(annotation, cst.BaseString):
        return cst.parse_expression(f"{code_of(annotation)} | None")
    if union and isinstance(annotation, cst.SimpleString):
        prefix, quote = annotation.prefix, annotation.quote
        return annotation.with_changes(value=f"{prefix}{quote}{annotation.raw_value} | None{quote}")
    index = cst.SubscriptElement(cst.Index(annotation))
    return cst.Subscript(value=builder.expression("typing.Optional"), slice=[index])
