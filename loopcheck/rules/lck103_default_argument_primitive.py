from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from loopcheck.analysis import CreationSite, SiteKind
from loopcheck.diagnostics import Fix, Safety
from loopcheck.fixes import FixBuilder, code_of, parse_statements
from loopcheck.primitive_rules import (
    DOCSTRING,
    PrimitiveCreationRule,
    snake_case,
    top_level_statement,
)
from loopcheck.rule import RuleDocs


class DefaultArgumentPrimitive(PrimitiveCreationRule):
    code = "LCK103"
    name = "default-argument-asyncio-primitive"
    summary = "asyncio primitive created in a default argument value"
    fix_kind = "unsafe"
    kind = SiteKind.DEFAULT

    docs = RuleDocs(
        what_it_does="""\
Finds asyncio primitives created in the default value of a function parameter, as in
`async def fetch(url, limit=asyncio.Semaphore(10))`.""",
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
Unsafe, and offered only for coroutine functions (whose body runs under a loop). Callers that pass
`None` explicitly now get the shared object instead of `None`; an annotated parameter becomes
`X | None`.""",
        affected_versions="""\
All supported versions; from 3.10 the failure appears under the second loop (lazy binding), on
3.9 and older under the first.""",
        references=(
            "https://docs.python.org/3/reference/compound_stmts.html#function-definitions",
        ),
    )
    invalid = (
        "import asyncio\nasync def fetch(url, limit=asyncio.Semaphore(10)):\n    pass\n",
        "import asyncio\ndef make(done=asyncio.Event()):\n    return done\n",
    )
    valid = (
        "import asyncio\nasync def fetch(url, limit=None):\n    limit = limit or asyncio.Semaphore(10)\n",
        "import asyncio\nasync def outer():\n    def inner(lock=asyncio.Lock()):\n        return lock\n",
    )

    def message_for(self, site: CreationSite) -> str:
        assert site.param is not None
        return (
            f"asyncio.{site.primitive.name} in the default of `{site.param.name.value}` is "
            f"created once, at definition, and shared by every event loop; a second loop fails "
            f"with '{site.primitive.error}'"
        )

    def fix_for(self, site: CreationSite) -> Fix | None:
        function, param = site.owner, site.param
        assert isinstance(function, cst.FunctionDef) and param is not None
        if function.asynchronous is None or param.default is not site.call:
            return None
        if not isinstance(function.body, cst.IndentedBlock):
            return None
        name = param.name.value
        accessor, statements = self.accessor_statements(
            site, f"{snake_case(function.name.value)}_{snake_case(name)}"
        )
        guard = parse_statements(f"if {name} is None:\n    {name} = {accessor}()\n")

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.FunctionDef)
            body = list(updated.body.body)
            at = 1 if body and m.matches(body[0], DOCSTRING) else 0
            new_params = updated.params.deep_replace(
                next(p for p in _all_params(updated.params) if p.name.value == name),
                _none_default(param),
            )
            return updated.with_changes(
                params=new_params,
                body=updated.body.with_changes(body=[*body[:at], *guard, *body[at:]]),
            )

        builder = FixBuilder(self.context).change(function, rewrite)
        anchor = top_level_statement(self, function)
        self.place_at_top_level(builder, anchor, statements, where="before")
        builder.add_import("asyncio")
        return builder.build(
            Safety.UNSAFE,
            f"Default `{name}` to None and use one {site.primitive.name} per event loop",
        )


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    star = [params.star_arg] if isinstance(params.star_arg, cst.Param) else []
    return [*params.posonly_params, *params.params, *star, *params.kwonly_params]


def _none_default(param: cst.Param) -> cst.Param:
    annotation = param.annotation
    if annotation is not None and "None" not in code_of(annotation.annotation):
        annotation = annotation.with_changes(
            annotation=cst.parse_expression(f"{code_of(annotation.annotation)} | None")
        )
    return param.with_changes(default=cst.Name("None"), annotation=annotation)
