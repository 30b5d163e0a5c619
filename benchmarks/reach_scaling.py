"""How long the loop reach takes on a large synthetic project.

The project is N modules (5,000 by default) of summaries made in memory (no parsing: only the
reach step is timed): each module imports three others, has ten functions that call CALLS
functions of the project (one of their own module, the others of modules it imports) and a few
library names, and keeps one client in a global; one module in
twenty has a Celery task running ``asyncio.run``, one in fifty a kept ``_worker_loop``, one in a
hundred a server startup handler. The script prints the seconds ``compute_reach`` took (CPU time
of this process), the loops and the verdicts. It asserts nothing.

    python benchmarks/reach_scaling.py                    # 5,000 modules, 2 calls a function
    python benchmarks/reach_scaling.py 1000 20000         # other sizes
    python benchmarks/reach_scaling.py --calls 4 5000     # a denser call graph
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter

from loopcheck.data.catalogue import Catalogue
from loopcheck.project.model import ProjectModel
from loopcheck.project.reach import compute_reach
from loopcheck.project.records import Function, Holder, LoopStart, ModuleSummary, Reference

SIZES = (5_000,)
FUNCTIONS = 10
IMPORTS = 3
CALLS = 2


def module(n: int, count: int, rng: random.Random, calls: int) -> ModuleSummary:
    """Module ``pkg.mN``: functions calling into the modules it imports, one client global."""
    imported = sorted({rng.randrange(count) for _ in range(IMPORTS)} - {n})
    imports = tuple((f"m{i}", f"pkg.m{i}") for i in imported)
    functions = []
    for f in range(FUNCTIONS):
        references = [Reference(f"f{rng.randrange(FUNCTIONS)}", 10 * f + 1, 4)]
        others = [rng.choice(imported) for _ in range(calls - 1)] if imported else []
        references += [Reference(f"m{i}.f{rng.randrange(FUNCTIONS)}", 10 * f + 2, 4) for i in others]
        references += [Reference("json.dumps", 10 * f + 3, 4), Reference("self.x.y", 10 * f + 4, 4)]
        if f == 0:
            references.append(Reference("client", 10 * f + 5, 4, called=False))
        functions.append(Function(f"f{f}", f % 2 == 0, 10 * f, 0, (), tuple(references)))
    if n % 20 == 0:
        run = Reference("f0", 201, 20)
        start = LoopStart("asyncio.run", "per-call", None, (run,), 201, 11)
        functions.append(Function("task", False, 200, 0, ("celery-task",), (run,), (start,)))
    if n % 50 == 1:
        run = Reference("f2", 211, 20)
        start = LoopStart("run_until_complete", "kept", "_worker_loop", (run,), 211, 11)
        functions.append(Function("job", False, 210, 0, ("celery-task",), (run,), (start,)))
    if n % 100 == 2:
        functions.append(Function("startup", True, 220, 0, ("lifespan",), (Reference("f4", 221, 4),)))
    holders = (
        Holder("client", "client", "redis.asyncio.Redis", "global", 1, 9),
        Holder("_worker_loop", "loop", "asyncio.AbstractEventLoop", "global", 2, 15),
    )
    return ModuleSummary(f"pkg.m{n}", f"/project/pkg/m{n}.py", False, imports, (), tuple(functions), (), holders, ())


def measure(count: int, calls: int) -> None:
    rng = random.Random(count)
    summaries = [module(n, count, rng, calls) for n in range(count)]
    model = ProjectModel(summaries)
    catalogue = Catalogue.load()
    started = time.process_time()
    reach = compute_reach(model, catalogue)
    seconds = time.process_time() - started
    verdicts = Counter(o.verdict for o in reach.objects)
    print(f"{count} modules, {calls} calls a function: {seconds:.2f} s CPU, {len(reach.loops)} loops, {dict(sorted(verdicts.items()))}")


def main(argv: list[str]) -> None:
    calls = CALLS
    if argv[:1] == ["--calls"]:
        calls, argv = int(argv[1]), argv[2:]
    for count in [int(a) for a in argv] or SIZES:
        measure(count, calls)


if __name__ == "__main__":
    main(sys.argv[1:])
