"""The code fixes generate, as LibCST templates: placeholders are filled with nodes (the user's
own constructor call, with its formatting and comments), never with pasted text."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
from libcst.helpers import parse_template_module

from loopcheck.analysis.names import variable_names

# One object per event loop, created by the loop that uses it. The cache evicts closed loops on
# each lookup: the objects hold their loop strongly, so a WeakKeyDictionary keyed by the loop
# would keep every dead loop alive.
PER_LOOP_ACCESSOR = '''\
{cache} = {}


def {accessor}():
    """The running event loop's WHAT, created on first use under that loop."""
    {loop} = {running_loop}()
    # Forget closed loops: the cached objects hold their loop, so nothing else would free it.
    for {stale} in [{other} for {other} in list({cache}) if {other}.is_closed()]:
        {cache}.pop({stale}, None)
    if {loop} not in {cache}:
        {cache}[{loop}] = {constructor}
    return {cache}[{loop}]
'''

# The same, per instance: a property keeps every `obj.attribute` read working unchanged.
PER_LOOP_PROPERTY = '''\
class _:
    @property
    def {attribute}(self):
        """The running event loop's WHAT, created on first use under that loop."""
        {loop} = {running_loop}()
        # Forget closed loops: the cached objects hold their loop, so nothing else would free it.
        for {stale} in [{other} for {other} in list(self.{cache}) if {other}.is_closed()]:
            self.{cache}.pop({stale}, None)
        if {loop} not in self.{cache}:
            self.{cache}[{loop}] = {constructor}
        return self.{cache}[{loop}]
'''


# One client per event loop, created by the loop that uses it and closed on it when the loop shuts
# down. No task waits for that (a task that never ends would hang a graceful shutdown that gathers
# every task, and be destroyed pending by a loop closed by hand): an async generator, run to its
# `yield` under the loop, is closed by loop.shutdown_asyncgens(), which asyncio.run() and
# asyncio.Runner call while the loop still runs, after cancelling its tasks. A loop closed by hand
# without that call has its client closed on the next access, from whatever loop makes it: on a
# loop of its own in a thread, waited for, since a task on the accessing loop is destroyed pending
# when that loop is closed by hand before the close finishes. A closer that has run (its frame is
# gone) needs nothing more, so a loop per asyncio.run() costs no thread. The client's connections
# went with its own loop, so closing it may fail, and is then quiet.
PER_LOOP_CLIENT = '''\
{cache} = {}


def {accessor}():
    """The running loop's WHAT: made on first use, closed when its loop ends."""
    loop = {running_loop}()
    # Forget the clients of closed loops (they hold their loop, so nothing else would free it),
    # and close those of loops closed by hand, whose closer never ran: on a loop of their own in
    # a thread, waited for (a task on this loop is lost if it, too, is closed by hand).
    for stale in [other for other in list({cache}) if other.is_closed()]:
        entry = {cache}.pop(stale, None)  # None: another thread's loop took it
        if entry is not None and entry[1].ag_frame is not None:
            closing = {thread}(target={run}, args=({close_now}(entry[1]),))
            closing.start()
            closing.join()
    if loop not in {cache}:
        client = {constructor}
        closer = {closer}(loop, client)
        try:
            closer.asend(None).send(None)  # to its `yield`: now the loop's shutdown closes it
        except StopIteration:
            pass
        {cache}[loop] = client, closer
    return {cache}[loop][0]


async def {closer}(loop, client):
    """Suspended until the loop shuts down its async generators, then closes the client."""
    try:
        yield
    finally:
        try:
            {close}
        except Exception:
            if not loop.is_closed():
                raise  # else its connections went with the loop, closed by hand


async def {close_now}(closer):
    """Closes the client of a loop closed by hand (its async generators never shut down)."""
    await closer.aclose()
'''


def per_loop_client(
    cache: cst.BaseExpression,
    accessor: str,
    closer: str,
    close_now: str,
    what: str,
    constructor: cst.BaseExpression,
    close: str,
    spell: Callable[[str], str],
) -> tuple[cst.SimpleStatementLine, cst.FunctionDef, list[cst.BaseStatement]]:
    """The per-loop cache's creation (``cache = {}``), its accessor, and the functions that
    close each loop's client; ``spell`` names asyncio and threading through the module's imports.
    ``cache`` is a module global, or an attribute of ``self`` for an accessor made a property."""
    module = parse_template_module(
        PER_LOOP_CLIENT.replace("WHAT", what),
        cache=cache,
        accessor=cst.Name(accessor),
        closer=cst.Name(closer),
        close_now=cst.Name(close_now),
        constructor=constructor,
        close=cst.parse_statement(close).body[0],  # type: ignore[attr-defined]
        running_loop=cst.parse_expression(spell("asyncio.get_running_loop")),
        thread=cst.parse_expression(spell("threading.Thread")),
        run=cst.parse_expression(spell("asyncio.run")),
    )
    creation, function, *closing = module.body
    assert isinstance(creation, cst.SimpleStatementLine) and isinstance(function, cst.FunctionDef)
    return creation, function, closing


# A module global that stands for the running loop's object, for the modules that import it
# (``from m import lock``, ``m.client.get(...)``): each use asks the accessor, so each loop gets
# its own object. Python looks special methods up on the type, never through __getattr__, so the
# proxy defines those of the object's type (SPECIAL, one per special method) itself.
PER_LOOP_PROXY = '''\
class {proxy}:
    """Stands for the running event loop's WHAT.

    ACCESSOR() makes it on first use under that loop. Code that imported the name keeps
    working through this proxy, which isinstance() sees instead."""

    __slots__ = ()

    def __getattr__(self, name):
        return getattr({accessor}(), name)


{name} = {proxy}()
'''
SPECIAL = '''\
def {special}(self, *args):
    return {accessor}().{special}(*args)
'''


def per_loop_proxy(
    proxy: str, accessor: str, name: str, what: str, specials: tuple[str, ...]
) -> list[cst.BaseStatement]:
    """The class ``proxy``, whose instance ``name`` stands for what ``accessor()`` returns under
    the running loop, with the special methods ``specials`` of that object's type."""
    names = {"proxy": cst.Name(proxy), "accessor": cst.Name(accessor)}
    # The docstring names the accessor as text (templates fill code, not strings).
    text = PER_LOOP_PROXY.replace("WHAT", what).replace("ACCESSOR", accessor)
    module = parse_template_module(text, name=cst.Name(name), **names)
    class_def, instance = module.body
    assert isinstance(class_def, cst.ClassDef) and isinstance(class_def.body, cst.IndentedBlock)
    methods = [
        parse_template_module(SPECIAL, special=cst.Name(special), accessor=names["accessor"]).body[0].with_changes(
            leading_lines=[cst.EmptyLine(indent=False)]
        )
        for special in specials
    ]
    body = class_def.body.with_changes(body=[*class_def.body.body, *methods])
    apart = [cst.EmptyLine(indent=False)] * 2  # from the accessor it follows
    return [class_def.with_changes(body=body, leading_lines=apart), instance]


def as_property(function: cst.FunctionDef, attribute: str) -> cst.FunctionDef:
    """``function``, an accessor of no parameters, as the property ``attribute`` of a class."""
    return function.with_changes(
        name=cst.Name(attribute),
        params=cst.Parameters(params=[cst.Param(cst.Name("self"))]),
        decorators=[cst.Decorator(cst.Name("property"))],
        leading_lines=[cst.EmptyLine(indent=False)],
    )


# The variables of the per-loop templates, renamed where the code put into them names the same.
TEMPLATE_LOCALS = ("loop", "stale", "other")


def template_locals(filled: list[cst.BaseExpression], taken: set[str]) -> dict[str, cst.Name]:
    """A name for each of :data:`TEMPLATE_LOCALS` that no variable ``filled`` reads and that is
    not ``taken``: in ``Semaphore(loop)`` with a module global ``loop``, the template's own
    ``loop`` would hide the global (``loop`` becomes ``loop_2``)."""
    taken = taken | {name.value for node in filled for name in variable_names(node)}
    chosen = {}
    for wanted in TEMPLATE_LOCALS:
        name, number = wanted, 1
        while name in taken:
            number += 1
            name = f"{wanted}_{number}"
        taken.add(name)
        chosen[wanted] = cst.Name(name)
    return chosen


def _per_loop_template(
    template: str, what: str, constructor: cst.BaseExpression, running_loop: str, taken: set[str], **names: str
) -> cst.Module:
    """``template`` filled with ``constructor``, the call that gives the running loop, and
    ``names``; its own locals (:data:`TEMPLATE_LOCALS`) avoid ``taken``."""
    loop_call = cst.parse_expression(running_loop)
    return parse_template_module(
        template.replace("WHAT", what),
        constructor=constructor,
        running_loop=loop_call,
        **{placeholder: cst.Name(name) for placeholder, name in names.items()},
        **template_locals([constructor, loop_call], taken),
    )


def per_loop_accessor(
    cache: str, accessor: str, what: str, constructor: cst.BaseExpression, running_loop: str
) -> list[cst.BaseStatement]:
    """``cache = {}`` and ``def accessor(): ...`` returning the running loop's object."""
    module = _per_loop_template(
        PER_LOOP_ACCESSOR, what, constructor, running_loop, {cache, accessor}, cache=cache, accessor=accessor
    )
    return list(module.body)


def per_loop_property(
    attribute: str, cache: str, what: str, constructor: cst.BaseExpression, running_loop: str
) -> cst.FunctionDef:
    """A property ``attribute`` returning the running loop's object, cached in ``self.cache``."""
    module = _per_loop_template(
        PER_LOOP_PROPERTY, what, constructor, running_loop, {"self"}, attribute=attribute, cache=cache
    )
    holder = module.body[0]
    assert isinstance(holder, cst.ClassDef)
    method = holder.body.body[0]
    assert isinstance(method, cst.FunctionDef)
    return method


def accessor_code(cache: str, accessor: str, what: str, constructor: str) -> str:
    """The per-loop accessor as text, for documentation and tests."""
    statements = per_loop_accessor(
        cache, accessor, what, cst.parse_expression(constructor), "asyncio.get_running_loop"
    )
    return cst.Module(body=statements).code.rstrip("\n")


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def parse_statements(code: str) -> list[cst.BaseStatement]:
    """Statements from code (indentation follows the block they are put in)."""
    return list(cst.parse_module(code).body)
