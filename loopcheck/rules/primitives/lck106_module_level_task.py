from __future__ import annotations

from loopcheck.analysis.tree import argument
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where

# Where the call sits, as the message says it.
PLACE_WORDS = {Where.MODULE: "at module level", Where.CLASS: "in a class body"}


class ModuleLevelTask(Rule):
    code = "LCK106"
    name = "module-level-task"
    summary = "asyncio task or future scheduled at import time, on a loop that never runs it"
    fix_kind = "none"
    instead = "start the work in a coroutine or in the application's startup hook"
    starts_from = (Start(calls=("loop.schedule",), where=(Where.MODULE, Where.CLASS)),)

    docs = RuleDocs(
        tier_reason=(
            "The task or future belongs to a loop that never runs; awaiting it under any running loop "
            "raises `RuntimeError: ... attached to a different loop`."
        ),
        what_it_does="""\
Finds `asyncio.ensure_future()`, `asyncio.gather()` and `asyncio.shield()` called at module level
or in a class body, that is when the module is imported, where no event loop runs.""",
        why_is_this_bad="""\
With no running loop, these functions bind the Task or Future they return to the thread's
current loop, the one `asyncio.get_event_loop()` makes up at import. Nothing ever runs that
loop: the coroutine never starts, and the first coroutine that awaits the result under
`asyncio.run()`, a Celery task's loop or a worker thread's loop fails with `RuntimeError: Task
<...> got Future <Task pending ...> attached to a different loop`. At exit Python adds `Task was
destroyed but it is pending!`.""",
        example="""\
import asyncio


async def load_settings():
    ...


settings = asyncio.ensure_future(load_settings())


async def handle(request):
    return (await settings)[request.key]""",
        use_instead="""\
Start the work under the loop that uses it: in a coroutine, or in the application's startup
hook, and keep the result where that loop's code finds it.

```python
import asyncio

_settings = None


async def get_settings():
    global _settings
    if _settings is None:
        _settings = await load_settings()
    return _settings


async def handle(request):
    return (await get_settings())[request.key]
```""",
        fix_safety="""\
No fix: where the work should start (the first use, a startup hook, every loop) is a design
decision, and the object's name is often imported by other modules.""",
        affected_versions="""\
Python 3.10 to 3.13 (checked on each): the import succeeds (3.12 and 3.13 warn `There is no
current event loop`) and the await fails with "attached to a different loop". Python 3.14's
`asyncio.get_event_loop()` raises `RuntimeError` when there is no current loop, as its
documentation and changelog say, so there the import itself fails.""",
        references=(
            "https://docs.python.org/3/library/asyncio-future.html#asyncio.ensure_future",
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_event_loop",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\n"
            "\n"
            "\n"
            "async def warm_up():\n"
            "    return 'warm'\n"
            "\n"
            "\n"
            "warm = asyncio.ensure_future(warm_up())\n",
            message="8:8 asyncio.ensure_future() at module level binds its task to the loop that is "
            "current at import, which never runs it; awaited under another loop it fails with "
            "'attached to a different loop'",
        ),
        Invalid(
            "from asyncio import gather\n"
            "\n"
            "\n"
            "async def probe(name):\n"
            "    return name\n"
            "\n"
            "\n"
            "class Checks:\n"
            "    started = gather(probe('db'), probe('cache'))\n",
            message="9:15 asyncio.gather() in a class body binds its task to the loop that is current "
            "at import, which never runs it; awaited under another loop it fails with 'attached to "
            "a different loop'",
        ),
    )
    valid = (
        # In a coroutine: the running loop.
        Valid(
            "import asyncio\n"
            "\n"
            "\n"
            "async def main(work):\n"
            "    task = asyncio.ensure_future(work())\n"
            "    return await task\n"
        ),
        # The script drives its own loop at import: the task runs on it.
        Valid(
            "import asyncio\n"
            "\n"
            "\n"
            "async def main():\n"
            "    return 1\n"
            "\n"
            "\n"
            "loop = asyncio.new_event_loop()\n"
            "asyncio.set_event_loop(loop)\n"
            "task = asyncio.ensure_future(main())\n"
            "loop.run_until_complete(task)\n"
        ),
        # An explicit loop, and code that runs only as a script.
        Valid(
            "import asyncio\n"
            "\n"
            "\n"
            "async def main():\n"
            "    return 1\n"
            "\n"
            "\n"
            "LOOP = asyncio.new_event_loop()\n"
            "task = asyncio.ensure_future(main(), loop=LOOP)\n"
            "\n"
            "if __name__ == '__main__':\n"
            "    done = asyncio.gather(main())\n"
        ),
    )

    def check(self) -> None:
        analysis = self.analysis
        if analysis.loop_uses.import_runs_a_loop:
            return
        scheduling = analysis.catalogue.loop_api.schedule_on_current_loop
        for call in analysis.names.calls_to(scheduling):
            place = analysis.tree.site(call).kind
            if place not in self.places or argument(call, keyword="loop") is not None:
                continue
            function = min(analysis.names.qualified(call.func) & scheduling).replace(".tasks.", ".")
            self.report(
                call,
                f"{function}() {PLACE_WORDS[place]} binds its task to the loop that is current at "
                "import, which never runs it; awaited under another loop it fails with 'attached "
                "to a different loop'",
            )

