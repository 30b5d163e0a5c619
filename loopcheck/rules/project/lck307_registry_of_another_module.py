"""LCK307: a loop-bound object stored in a registry that another module keeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.rule import RuleDocs
from loopcheck.rules.project.base import (
    START_ONLY,
    ProjectExample,
    ProjectRule,
    loops_of,
    name_loops,
    render_modules,
    shared,
)

if TYPE_CHECKING:
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.reach import Reach

MANAGER = '''\
class ClientManager:
    _pools = {}
'''

STORE = '''\
import asyncpg

from app.manager import ClientManager


async def pool(name):
    if name not in ClientManager._pools:
        ClientManager._pools[name] = await asyncpg.create_pool(dsn=name)
    return ClientManager._pools[name]
'''

TASKS = '''\
import asyncio

from app.store import pool
from celery import shared_task


async def count(name):
    return await (await pool(name)).fetchval("select count(*) from jobs")


@shared_task
def count_jobs(name):
    return asyncio.run(count(name))
'''

MESSAGE = (
    "app/store.py:8:44 asyncpg.Pool stored in `ClientManager._pools`, a registry app.manager keeps for"
    " the whole process, is reached by the Celery task 'count_jobs' (asyncio.run: a new event loop per"
    " call): it belongs to the loop it was made under, and under any other it fails with"
    " 'attached to a different loop'"
)


class RegistryOfAnotherModule(ProjectRule):
    code = "LCK307"
    name = "registry-of-another-module-keeps-loop-object"
    instead = "key the registry by the running loop as well, or make the object inside that loop"
    summary = "loop-bound object stored in a registry another module keeps, reached by several event loops"
    docs = RuleDocs(
        tier_reason=(
            "The next loop that takes the object from the registry fails with `attached to a different "
            "loop` or `Event loop is closed`."
        ),
        what_it_does="""\
Finds a loop-bound object stored in a class-level or module-level registry that another module
defines (`ClientManager._pools[name] = await asyncpg.create_pool(...)`, where `ClientManager`
is imported), when the project model sees more than one event loop reach it, or a loop made anew
on each call. A registry of the storing module itself is reported per file (LCK104, LCK303).""",
        why_is_this_bad="""\
The registry lives as long as the process and hands the object to every later caller, whatever
loop runs them; the object belongs to the loop it was made under, and the next loop fails with
`attached to a different loop` or `Event loop is closed`.""",
        example=render_modules({"app/manager.py": MANAGER, "app/store.py": STORE, "app/tasks.py": TASKS}),
        use_instead="""\
Key the registry by the running loop as well (`(asyncio.get_running_loop(), name)`) and drop
the entries of closed loops, or make the object inside the loop that uses it and close it there.""",
        fix_safety="No fix: the registry and the code that fills it are in different modules.",
        affected_versions="All supported versions (3.10-3.13).",
    )
    examples = (
        ProjectExample({"app/manager.py": MANAGER, "app/store.py": STORE, "app/tasks.py": TASKS}, (MESSAGE,)),
        # One loop only: the pool is used on the server's loop.
        ProjectExample({"app/manager.py": MANAGER, "app/store.py": STORE}),
    )

    def check(self, model: ProjectModel, reach: Reach, catalogue: Catalogue) -> Iterator[Diagnostic]:  # type: ignore[override]
        for reached in shared(reach, ("registry",)):
            owner = reached.holder.name.split(".")[0]
            target = model.resolve(reached.module, owner) if "." in reached.holder.name else None
            if target is None or target.module == reached.module:
                continue  # the storing module's own registry: reported per file
            loops = loops_of(reached.chains)
            message = (
                f"{reached.holder.what} stored in `{reached.holder.name}`, a registry {target.module} keeps for"
                f" the whole process, is reached by {name_loops(loops)}: it belongs to the loop it was made"
                f" under, and under any other it fails with '{reached.error}'"
            )
            holder = reached.holder
            yield self.diagnostic(reached.path, holder.line, holder.column, START_ONLY, message, reached.chains)
