"""What a rule's findings start from, as the rule declares it (``Rule.starts_from``): calls of
catalogue groups or event-loop methods, where they sit, how their result is kept. The candidate
stage (``candidates``) reads these declarations. :class:`Where` is also what the analysis answers
for a LibCST node (``Tree.site``): a rule states once where its construct sits, and the
candidate stage and the rule's ``check()`` (``Rule.places``) both read it from there.

A declaration is checked where the rules are generated and tested (:func:`declaration_mistakes`;
a run reads the starts from the generated rule index): a misspelled group, place or method, or a
start no example holds, would otherwise match nothing and switch the rule off without a word."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, fields

from loopcheck.data.catalogue import Catalogue


class Where(enum.Enum):
    """Where a construct sits, as far as the event loop it may meet is concerned."""

    MODULE = "module"  # module level: evaluated at import
    CLASS = "class"  # a class body: at import, once for the class
    DEFAULT = "default"  # a default argument value: once, when the `def` statement runs
    FUNCTION = "function"  # the body of a plain function: at each call
    COROUTINE = "coroutine"  # the body of an `async def`: at each call, under the running loop
    # The analysis only: a lambda, a class made at run time, `__main__` or TYPE_CHECKING code, a
    # default evaluated in a coroutine. The candidate stage counts these as one of the others.
    ELSEWHERE = "elsewhere"

    def __repr__(self) -> str:
        return f"Where.{self.name}"


# The places a start may name: the candidate stage puts every construct in one of them.
PLACES = (Where.MODULE, Where.CLASS, Where.DEFAULT, Where.FUNCTION, Where.COROUTINE)
FUNCTION_BODIES = (Where.FUNCTION, Where.COROUTINE)

# The catalogue groups a start's calls name, and the qualified names each one holds.
GROUPS: dict[str, Callable[[Catalogue], frozenset[str]]] = {
    "primitives": lambda catalogue: frozenset(catalogue.primitives),
    "clients": lambda catalogue: frozenset(catalogue.clients),
    "loop.new": lambda catalogue: catalogue.loop_api.new_loop,
    "loop.current": lambda catalogue: catalogue.loop_api.current_loop,
    "loop.running": lambda catalogue: catalogue.loop_api.running_loop,
    "loop.set": lambda catalogue: catalogue.loop_api.set_loop,
    "loop.run": lambda catalogue: catalogue.loop_api.run,
    "loop.nest": lambda catalogue: catalogue.loop_api.nest,
    "loop.schedule": lambda catalogue: catalogue.loop_api.schedule_on_current_loop,
    "loop.threadsafe": lambda catalogue: catalogue.loop_api.threadsafe,
}


def groups(catalogue: Catalogue) -> dict[str, frozenset[str]]:
    """The catalogue groups starts refer to, by name, as qualified names."""
    return {name: members(catalogue) for name, members in GROUPS.items()}


@dataclass(frozen=True)
class Start:
    """Something a rule's findings start from; a file may hold a finding of the rule only if it
    holds one of the rule's starts.

    ``calls`` are catalogue groups (:data:`GROUPS`), ``methods`` event-loop method names; ``where``
    limits them to code in those places (empty: anywhere); ``also_calls`` (groups) and
    ``also_methods`` (event-loop methods) must be called somewhere in the file too. ``kept`` asks
    that the call's result be stored beyond the call (in a global, a class attribute, a container
    or a function cache), ``on_shared_instance`` that it be stored on ``self`` of a class the file
    makes a process-wide instance of, and ``in_known_context`` that, in a function, the file hand
    some callable to a thread, an executor, a scheduler, Celery or an application, or call its own
    functions at import (the seeds of the execution-context analysis)."""

    calls: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    where: tuple[Where, ...] = ()
    also_calls: tuple[str, ...] = ()
    also_methods: tuple[str, ...] = ()
    kept: bool = False
    on_shared_instance: bool = False
    in_known_context: bool = False

    @property
    def places(self) -> tuple[Where, ...]:
        return self.where or PLACES

    def declared(self) -> dict[str, object]:
        """The fields the declaration sets (those that differ from their default)."""
        return {field.name: getattr(self, field.name) for field in fields(self)
                if getattr(self, field.name) != field.default}

    def __repr__(self) -> str:
        return f"Start({', '.join(f'{name}={value!r}' for name, value in self.declared().items())})"


def is_loop_method(name: str) -> bool:
    """A public method of asyncio's event loop (``run_until_complete``, ``call_soon_threadsafe``)."""
    import asyncio  # only where declarations are checked (generate, the tests): never in a run

    return not name.startswith("_") and callable(getattr(asyncio.AbstractEventLoop, name, None))


def mistakes(start: object) -> list[str]:
    """What is wrong with a declared start: each mistake would make it match nothing, or match
    something else than it says, without a word."""
    if not isinstance(start, Start):
        return [f"{start!r} is not a Start"]
    found = []
    for field in fields(Start):
        value = getattr(start, field.name)
        if isinstance(field.default, bool):
            if not isinstance(value, bool):
                found.append(f"{field.name} must be True or False, not {value!r}")
        elif not isinstance(value, tuple):
            found.append(f"{field.name} must be a tuple, not {value!r}")
    if found:
        return found
    known = ", ".join(GROUPS)
    for label, entries in (("calls", start.calls), ("also_calls", start.also_calls)):
        found += [f"{label}: unknown group {name!r} (known: {known})" for name in entries if name not in GROUPS]
    for label, entries in (("methods", start.methods), ("also_methods", start.also_methods)):
        found += [f"{label}: {name!r} is not a method of asyncio's event loop"
                  for name in entries if not is_loop_method(name)]
    found += [f"where: {place!r} is not one of {', '.join(f'Where.{p.name}' for p in PLACES)}"
              for place in start.where if place not in PLACES]
    if not start.calls and not start.methods:
        found.append("no calls and no methods: it matches nothing")
    if start.methods and (start.kept or start.on_shared_instance):
        found.append("kept and on_shared_instance apply to calls only: declare methods in a Start of their own")
    if start.in_known_context and not any(place in FUNCTION_BODIES for place in start.places):
        found.append("in_known_context narrows calls in functions and coroutines only, and where holds neither")
    return found


def declaration_mistakes(starts: tuple[object, ...], examples: tuple[str, ...]) -> list[str]:
    """What is wrong with a rule's ``starts_from``, given the code of its Invalid ``examples``: a
    wrong start (:func:`mistakes`), or one no example holds (:func:`unreached`): nothing would test
    it. (No start at all is let through: a new rule imports, and its examples' test says it
    reports nothing.)"""
    found = [f"starts_from[{position}]: {mistake}" for position, start in enumerate(starts)
             for mistake in mistakes(start)]
    if found or not starts:
        return found
    if not examples:
        return ["starts_from is declared but no Invalid example shows a finding"]
    return unreached(starts, examples)  # type: ignore[arg-type]  # (no mistake: each is a Start)


def unreached(starts: tuple[Start, ...], examples: tuple[str, ...]) -> list[str]:
    """The starts none of ``examples`` (source texts) holds, as the candidate stage sees them:
    a start no example holds is one nothing tests, and the stage could drop the files it stands
    for unnoticed."""
    import ast

    from loopcheck.prefilter.candidates import Candidates  # it reads the starts of this module

    class Declared:
        code = ""
        starts_from = starts

    candidates = Candidates([Declared], Catalogue.load())
    shapes = [candidates.shape_of(ast.parse(example)) for example in examples]
    return [
        f"no invalid example holds starts_from[{position}] = {start}"
        for position, start in enumerate(starts)
        if not any(candidates.holds(shape, start) for shape in shapes)
    ]
