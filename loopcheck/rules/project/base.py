"""The base of the project rules, their multi-module example form, and what they share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from loopcheck.engine.diagnostics import Diagnostic, Evidence, FixProposal, Granted, NoFix
from loopcheck.engine.rule import Rule
from loopcheck.project.evidence import shown
from loopcheck.project.reach import SHARED, Chain, Loop, ObjectReach, loop_order
from loopcheck.project.records import MODULE_CODE, ModuleSummary

if TYPE_CHECKING:
    import libcst as cst

    from loopcheck.data.catalogue import Catalogue
    from loopcheck.engine.context import LintContext
    from loopcheck.project.model import ProjectModel, Target
    from loopcheck.project.reach import Reach

# A project example's finding: the module's path, the finding's 1-based line and column, then
# what it says.
PLACED_MESSAGE = re.compile(r"^[^:\s]+\.py:[0-9]+:[0-9]+ ")

# The width of a finding at a holder's creation: the records keep where it starts, not its end.
START_ONLY = 1

@dataclass(frozen=True)
class ProjectExample:
    """A small project a project rule is shown on: ``modules``, each module's path (as the
    project's root sees it, ``app/crawl.py``) to its source; ``findings``, everything the rule
    reports on it, each as ``"path:line:col message"`` in order (none: the rule stays silent)."""

    modules: Mapping[str, str] = field(hash=False)
    findings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for finding in self.findings:
            if not PLACED_MESSAGE.match(finding):
                raise ValueError(f"project example finding {finding!r} does not start with 'path.py:line:col '")
            if finding.partition(":")[0] not in self.modules:
                raise ValueError(f"project example finding {finding!r} names a module the example does not have")


def render_modules(modules: Mapping[str, str]) -> str:
    """A project example as one text, each module under a comment naming its path (the rule
    pages and ``--explain`` show it)."""
    return "\n\n".join(f"# {path}\n{source.rstrip()}" for path, source in modules.items())


class ProjectRule(Rule):
    """Base class of the rules that read the project model: the same metadata as every rule
    (code, name, summary, docs, ``fix_kind``), no ``starts_from`` (the per-file stage never runs
    them), and :meth:`check` over the model and its reach instead of one file; a fix it grants is
    built in the finding's file (:meth:`fix_in_file`)."""

    scope = "project"
    # Small projects: at least one the rule reports on and one it leaves alone.
    examples: ClassVar[tuple[ProjectExample, ...]] = ()

    def __init__(self, context: LintContext | None = None) -> None:
        # A project rule has a file of its own only where it builds a fix it granted (fix_in_file).
        self.context = context  # type: ignore[assignment]
        self.findings = []

    def check(self, model: ProjectModel, reach: Reach, catalogue: Catalogue) -> Iterable[Diagnostic]:  # type: ignore[override]
        raise NotImplementedError

    def fix_in_file(self, granted: Granted) -> tuple[cst.CSTNode, FixProposal | NoFix] | None:
        """The fix :meth:`check` granted a finding (``Diagnostic.granted``), built on the file of
        ``self.context`` as it is now (fixing goes pass after pass): the node the finding is now
        at and the fix, or why there is none after all; None when what the fix rewrites is gone
        (it was applied). A rule that grants no fix builds none."""
        return None

    def diagnostic(
        self, path: str, line: int, column: int, width: int, message: str, chains: Iterable[Chain] = ()
    ) -> Diagnostic:
        """A finding at ``line`` and 0-based ``column`` (as the records give them) over ``width``
        characters of that line, with the evidence of ``chains``."""
        return Diagnostic(
            path=path, line=line, column=column + 1, end_line=line, end_column=column + 1 + width,
            code=self.code, message=message, evidence=evidence_of(chains),
        )


# -- what the rules share -------------------------------------------------------------------------


def loops_of(chains: Iterable[Chain]) -> list[Loop]:
    """The distinct loops of ``chains``, in the order of where they start."""
    seen: dict[str, Loop] = {}
    for chain in chains:
        seen.setdefault(chain.loop.key, chain.loop)
    return sorted(seen.values(), key=loop_order)


def name_loops(loops: list[Loop]) -> str:
    """``the Celery task 'a' (...) and the Celery task 'b' (...)``."""
    names = [loop.describe for loop in loops]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def evidence_of(chains: Iterable[Chain]) -> tuple[Evidence, ...]:
    """One line of evidence per chain: the loop, and the calls from its start to the use."""
    found = []
    for chain in chains:
        via = " -> ".join(step.message for step in chain.steps if step.message)
        message = f"reached from {chain.loop.describe}" + (f" via {via}" if via else "")
        found.append(Evidence(message, shown(chain.loop.location), tuple(map(shown, chain.steps))))
    return tuple(found)


def objects_of(reach: Reach) -> list[ObjectReach]:
    """Every object the reach knows (``Reach.objects``, by (module, holder name) or in a tuple)."""
    objects = reach.objects
    return list(objects.values()) if isinstance(objects, Mapping) else list(objects)


def shared(reach: Reach, how: tuple[str, ...]) -> list[ObjectReach]:
    """The objects kept in one of the ways ``how`` names that reach says are shared across loops,
    in the order of their modules and lines."""
    found = [o for o in objects_of(reach) if o.verdict == SHARED and o.holder.how in how]
    return sorted(found, key=lambda o: (o.path, o.holder.line, o.holder.column, o.holder.name))


def reached_from(reach: Reach, path: str, line: int) -> list[tuple[ObjectReach, Chain]]:
    """The objects the loop started at ``path:line`` reaches, each with that loop's chain."""
    found = []
    for reached in objects_of(reach):
        chain = next((c for c in reached.chains if (c.loop.location.path, c.loop.location.line) == (path, line)), None)
        if chain is not None:
            found.append((reached, chain))
    return sorted(found, key=lambda pair: (pair[0].path, pair[0].holder.line, pair[0].holder.name))


def holder_of(model: ProjectModel, module: str, dotted: str) -> Target | None:
    """The holder the longest prefix of ``dotted`` (written in ``module``) names:
    ``client.admin.command`` -> the holder ``client``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        target = model.resolve(module, ".".join(parts[:cut]))
        if target is not None and target.kind == "holder":
            return target
    return None


def qualified(summary: ModuleSummary, dotted: str) -> str:
    """``dotted`` as written in ``summary``'s module, its first part replaced by what the module
    imported under that name (``new_event_loop`` -> ``asyncio.new_event_loop``)."""
    head, dot, rest = dotted.partition(".")
    imported = dict(summary.imports).get(head)
    return f"{imported}{dot}{rest}" if imported is not None else dotted


def module_call(summary: ModuleSummary, callee: str) -> tuple[int, int] | None:
    """Where the module's top-level code calls ``callee`` (line, 0-based column), first one."""
    code = summary.function(MODULE_CODE)
    for reference in code.references if code is not None else ():
        if reference.called and reference.dotted == callee:
            return reference.line, reference.column
    return None
