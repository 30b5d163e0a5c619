"""The reach of a finding's object, as evidence under the finding.

A finding of a rule about an object kept too long (LCK1xx primitives, LCK3xx clients, LCK4xx loop
lookups) is about the holder created on its line: when the reach knows that holder, the finding
gets one :class:`~loopcheck.engine.diagnostics.Evidence` per loop that reaches it (where the loop
starts, and the calls from there to the use). A finding about a *confined* holder (one loop only
ever uses it) is dropped: it is not a bug in this program. A finding about an *unreached* holder
keeps its message and says that no loop was seen reaching it, when the project has a loop at all
(a library with no loop anywhere reads as before); so does a finding in a module the model
never loaded (no loop's calls resolve into it). A finding about a holder of a loop itself
(``_loop = asyncio.get_event_loop()``) is about how the loop was looked up, not about which loops
use it: it is never dropped nor noted, only given the evidence of the loops that read it. A
finding of a loop rule (LCK2xx) on the line
where a loop starts gets one evidence per shared object that loop reaches; its fix is declined
when that loop is kept and would, as a new loop per call, share an object only it uses, or
leave an object it looks up in a registry the model cannot follow bound to a closed loop.

Findings and summaries are matched by real path and line; evidence paths are shown as findings'
paths are: relative to the working directory when the file is under it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Iterable

from loopcheck.engine.diagnostics import Diagnostic, Evidence, Location, Proven, declined, declined_reason
from loopcheck.project.reach import CONFINED, SHARED, Chain, ObjectReach, Reach, keeps_confined, real_path
from loopcheck.project.uses import OutsideUse

# The rule families whose findings are about the object created on their line.
OBJECT_FAMILIES = ("LCK1", "LCK3", "LCK4")
# The object family whose findings are about a loop looked up (a holder of a loop: never noted).
LOOP_LOOKUPS = "LCK4"
# The rule family whose findings are about the loop started on their line.
LOOP_FAMILY = "LCK2"
# The kind of holder that keeps a loop: what a finding says of it is not about which loops use it.
LOOP = "loop"
UNREACHED_NOTE = " (no event loop in this project was seen reaching it)"
# What the proxy that keeps a public name importable does where no loop runs.
PROXY_OUTSIDE = "the proxy that would keep it importable finds no running loop (RuntimeError)"


def _with_note(message: str) -> str:
    """The message with :data:`UNREACHED_NOTE` after what it says of the object (before the
    reason it has no fix, which ends a message)."""
    said, reason = declined_reason(message)
    return said + UNREACHED_NOTE if reason is None else declined(said + UNREACHED_NOTE, reason)


def attach(diagnostics: Iterable[Diagnostic], reach: Reach, *, keep_confined: bool = False) -> list[Diagnostic]:
    """``diagnostics`` with the evidence ``reach`` has for them; those about confined objects
    left out, or with ``keep_confined`` kept with the one loop that reaches them as evidence."""
    objects, starts, unfollowed = reach.objects_at, reach.starts_at, reach.unfollowed_at
    attached = []
    for diagnostic in diagnostics:
        at = (real_path(diagnostic.path), diagnostic.line)
        family = diagnostic.code[:4]
        if family in OBJECT_FAMILIES and at in objects:
            about = objects[at]
            loops = [reached for reached in about if reached.holder.kind == LOOP]
            confined = _confined(about)
            if confined and not keep_confined:
                continue
            judged = loops or [reached for reached in about if confined or reached.verdict != CONFINED]
            evidence = tuple(_reached_from(chain, reached) for reached in judged for chain in reached.chains)
            if evidence:
                diagnostic = replace(diagnostic, evidence=diagnostic.evidence + evidence)
            elif reach.saw_loops and not loops:
                diagnostic = replace(diagnostic, message=_with_note(diagnostic.message))
        elif family in OBJECT_FAMILIES and family != LOOP_LOOKUPS and reach.saw_loops and _unloaded(at[0], reach):
            # Its module was never loaded: no loop's calls resolve into it.
            diagnostic = replace(diagnostic, message=_with_note(diagnostic.message))
        elif family == LOOP_FAMILY and (at in starts or at in unfollowed):
            shared = [(reached, chain) for reached, chain in starts.get(at, ()) if reached.verdict == SHARED]
            evidence = tuple(_loop_reaches(reached, chain) for reached, chain in shared)
            diagnostic = replace(diagnostic, evidence=diagnostic.evidence + evidence)
            reason = _declined_at(starts.get(at, ())) or _unfollowed(unfollowed.get(at))
            if reason is not None and diagnostic.fix is not None and not keep_confined:
                diagnostic = replace(diagnostic, message=declined(diagnostic.message, reason), fix=None)
        attached.append(diagnostic)
    return attached


def _declined_at(found: Iterable[tuple[ObjectReach, Chain]]) -> str | None:
    """Why the loop rules' fixes are declined on a loop's line: it is a kept loop that alone uses
    an object, and a new loop per call (what those fixes make of it) would share the object."""
    # The loop's own holder is what the fix removes, not an object it would share.
    kept = next((r for r, _chain in found if keeps_confined(r) and r.holder.kind != LOOP), None)
    if kept is None:
        return None
    holder = kept.holder
    created = shown(Location(kept.path, holder.line, holder.column + 1, ""))
    return (
        f"asyncio.run() per call would share {holder.what} '{holder.name}' ({created.path}:{created.line})"
        f" across loops: this kept loop is {_alone(kept)}"
    )


def _alone(reached: ObjectReach) -> str:
    """How a confined object's loop is named: the only one that uses it, or, where other loops
    use another copy (another process's, another instance's), alone on it, and why."""
    return "the only loop that uses it" if len(reached.chains) == 1 else f"alone on it ({reached.why})"


def _unfollowed(lookup: tuple[str, str] | None) -> str | None:
    """Why the loop rules' fixes are declined on a kept loop's line whose coroutines reach an
    object looked up by a key the model cannot follow (``Reach.unfollowed``)."""
    if lookup is None:
        return None
    function, written = lookup
    if written.startswith("import "):  # Reach.unread_import's
        return (
            f"its coroutines run code of {function}, which imports {written.removeprefix('import ')}, a"
            " module of the project loopcheck could not read: what it keeps may be a process-wide"
            " loop-bound object, which asyncio.run() per call would leave bound to a closed loop"
        )
    return (
        f"its coroutines reach {function}, which returns `{written}`, an object looked up by a key"
        " that the project model cannot follow: it may be a process-wide loop-bound object, which"
        " asyncio.run() per call would leave bound to a closed loop"
    )


def declined_fixes(reach: Reach) -> dict[str, dict[int, str]]:
    """By real path, the lines of kept loops that alone use an object, or whose coroutines reach
    an object the model cannot follow, each with why the loop rules' fixes are declined there
    (:func:`_declined_at`, :func:`_unfollowed`): fixing must leave them alone."""
    lines: dict[str, dict[int, str]] = {}
    starts, unfollowed = reach.starts_at, reach.unfollowed_at
    for path, line in starts.keys() | unfollowed.keys():
        reason = _declined_at(starts.get((path, line), ())) or _unfollowed(unfollowed.get((path, line)))
        if reason is not None:
            lines.setdefault(path, {})[line] = reason
    return lines


def proven_facts(reach: Reach) -> dict[str, Proven]:
    """By real path, the (function, parameter) pairs every caller gives a coroutine and the
    names other modules import from the file: the fixes unsafe only for want of such facts are
    safe there (``SafeWhen``); where the model knows every module of the project that imports
    the file, the fixes of its public names are offered (``Withheld``), or declined where a
    module importing one uses it outside coroutines or could not be read."""
    parameters: dict[str, set[tuple[str, str]]] = {}
    for path, function, parameter in reach.coroutine_parameters:
        parameters.setdefault(path, set()).add((function, parameter))
    imported: dict[str, set[str]] = {}
    for path, name in reach.imported_names:
        imported.setdefault(path, set()).add(name)
    declined: dict[str, set[tuple[str, str]]] = {}
    for path, name, place, unread in reach.outside_uses:
        declined.setdefault(path, set()).add((name, OutsideUse(place, unread).reason(PROXY_OUTSIDE)))
    return {
        path: Proven(
            frozenset(parameters.get(path, ())),
            frozenset(imported.get(path, ())),
            path in reach.importers_known,
            frozenset(declined.get(path, ())),
        )
        for path in parameters.keys() | reach.importers_known
    }


def _unloaded(path: str, reach: Reach) -> bool:
    """Whether the module at (real) ``path`` was never loaded by the model."""
    return reach.loaded is not None and path not in reach.loaded


def _reached_from(chain: Chain, reached: ObjectReach) -> Evidence:
    """``reached from the Celery task 'x' (asyncio.run: a new event loop per call) via a.f ->
    b.g``, and how that fails when the object is shared."""
    via = f" via {' -> '.join(chain.through)}" if chain.through else ""
    message = f"reached from {chain.loop.describe}{via}"
    if reached.verdict == SHARED:
        message += f"; {_failure(chain, reached)}"
    elif reached.verdict == CONFINED:
        message += f"; {reached.made_confined or _alone(reached)}: harmless in this program"
    return Evidence(message, shown(chain.loop.location), tuple(map(shown, chain.steps)))


def _failure(chain: Chain, reached: ObjectReach) -> str:
    """What the program sees (the object's error from the catalogue): the first loop to use the
    object binds it, and the others, or the later runs of a loop new on each run, fail (a
    primitive once tasks have waited on it under two loops)."""
    error = f'"{reached.error}"{_once(reached)}'
    if len(reached.chains) >= 2:
        if reached.fails_once:  # it binds to the first loop that waits on it, not to the first user
            return f"{len(reached.chains)} loops use it; it fails with {error}"
        return f"{len(reached.chains)} loops use it; the first binds it, the others fail with {error}"
    if chain.loop.lifetime != "per-call":  # a loop each instance of a class keeps
        return f"each instance keeps its own loop; the second to use it fails with {error}"
    later = chain.loop.fails or "a later run"
    return f"each run is a new loop; {later} fails with {error}"


def _once(reached: ObjectReach) -> str:
    """`` once tasks have had to wait for it under two loops`` for a primitive; else nothing."""
    return f" {reached.fails_once}" if reached.fails_once else ""


def _loop_reaches(reached: ObjectReach, chain: Chain) -> Evidence:
    """``this loop reaches redis.asyncio.Redis 'client' (services/redis.py:12), also reached by
    ...``, located at the object."""
    holder = reached.holder
    here = f"{holder.what} '{holder.name}' is created here"
    created = shown(Location(reached.path, holder.line, holder.column + 1, here))
    others = [other.loop.describe for other in reached.chains if other.loop.key != chain.loop.key]
    # The failure of this process, whatever the loop rule says of threads: two kept loops of a
    # prefork worker fail on the object they share, not with "already running".
    if others:
        also = f'also reached by {others[0]}, and the second to use it fails with "{reached.error}"{_once(reached)}'
    else:
        also = _failure(chain, reached)
    message = f"this loop reaches {holder.what} '{holder.name}' ({created.path}:{created.line}), {also}"
    return Evidence(message, created, tuple(map(shown, chain.steps)))


def shown(location: Location) -> Location:
    """``location`` with its path relative to the working directory when the file is under it."""
    absolute = os.path.abspath(location.path)
    relative = os.path.relpath(absolute)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return replace(location, path=absolute)
    return replace(location, path=relative)


def _confined(about: list[ObjectReach]) -> bool:
    """Whether the objects made on one line are all confined (no loop holder among them)."""
    return all(reached.holder.kind != LOOP and reached.verdict == CONFINED for reached in about)


def confined_lines(reach: Reach) -> dict[str, frozenset[int]]:
    """By real path, the creation lines of the holders only confined objects are made on: the
    lines whose findings :func:`attach` drops, and fixes must leave alone."""
    lines: dict[str, set[int]] = {}
    for (path, line), about in reach.objects_at.items():
        if _confined(about):
            lines.setdefault(path, set()).add(line)
    return {path: frozenset(found) for path, found in lines.items()}
