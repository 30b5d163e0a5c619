"""The shared analysis, question by question: where each function runs, which binding each read
sees, where a loop-bound object is held, and how generated code names and imports things."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import libcst.matchers as m
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from loopcheck.analysis import FileAnalysis, Held, Runs
from loopcheck.analysis.holders import SharedBy, Singleton
from loopcheck.analysis.positions import Positions, _starts_from_lines
from loopcheck.data.catalogue import SEED_CONTEXTS, Catalogue, CatalogueError, context_seeds, tomllib
from loopcheck.fixes.imports import ImportRequest, add_imports, name_for
from loopcheck.prefilter.starts import Where


def analyse(source: str) -> FileAnalysis:
    module = cst.parse_module(textwrap.dedent(source))
    return FileAnalysis(MetadataWrapper(module, unsafe_skip_copy=True), Catalogue.load())


def function(analysis: FileAnalysis, name: str) -> cst.FunctionDef:
    return next(f for f in analysis.index.functions if f.name.value == name)


def contexts_of(analysis: FileAnalysis, name: str) -> set[str]:
    return {c.value for c in analysis.contexts.of(function(analysis, name))}


CONTEXTS = """
import asyncio, functools, threading
from concurrent.futures import ThreadPoolExecutor
from celery import Celery, shared_task
from celery.signals import worker_process_init
from apscheduler.schedulers.background import BackgroundScheduler
from contextlib import asynccontextmanager
from fastapi import FastAPI
import schedule

app = Celery("tasks")
scheduler = BackgroundScheduler()

def helper():
    pass

def thread_target():
    helper()

threading.Thread(target=thread_target).start()
threading.Timer(5, functools.partial(helper)).start()

class Poller(threading.Thread):
    def run(self):
        self.poll()

    def poll(self):
        pass

@app.task
def celery_task():
    asyncio.run(task_body())

async def task_body():
    sync_step()

def sync_step():
    pass

@shared_task(bind=True)
def shared(self):
    pass

@worker_process_init.connect
def init_worker(**kwargs):
    pass

def on_start(**kwargs):
    pass

worker_process_init.connect(on_start)

def interval_job():
    pass

scheduler.add_job(interval_job, "interval", seconds=5)

@scheduler.scheduled_job("cron", hour=1)
def nightly():
    pass

def every_minute():
    pass

schedule.every(1).minutes.do(every_minute)

@asynccontextmanager
async def lifespan(app):
    yield

api = FastAPI(lifespan=lifespan)

@api.on_event("startup")
async def startup():
    pass

@api.get("/sync")
def sync_endpoint():
    pass

def pooled():
    pass

with ThreadPoolExecutor() as pool:
    pool.submit(pooled)

async def offload():
    await asyncio.to_thread(blocking)
    await asyncio.get_running_loop().run_in_executor(None, lambda: blocking())

def blocking():
    pass

def at_import():
    pass

at_import()

def script():
    pass

if __name__ == "__main__":
    script()

def nobody_calls_me():
    pass
"""


@pytest.mark.parametrize(
    "name, expected",
    [
        ("thread_target", {"thread"}),
        ("helper", {"thread"}),  # called by a thread target, and handed to a Timer
        ("run", {"thread"}),
        ("poll", {"thread"}),
        ("celery_task", {"celery-task"}),
        ("task_body", {"coroutine", "celery-task"}),
        ("sync_step", {"called-from-coroutine", "celery-task"}),
        ("shared", {"celery-task"}),
        ("init_worker", {"worker-hook"}),
        ("on_start", {"worker-hook"}),
        ("interval_job", {"scheduler-job"}),
        ("nightly", {"scheduler-job"}),
        ("every_minute", {"scheduler-job"}),
        ("lifespan", {"coroutine", "lifespan"}),
        ("startup", {"coroutine", "lifespan"}),
        ("sync_endpoint", {"executor"}),
        ("pooled", {"executor"}),
        ("blocking", {"executor"}),
        ("at_import", {"import"}),
        ("script", {"main"}),
        ("nobody_calls_me", {"unknown"}),
    ],
)
def test_execution_contexts(name, expected):
    assert contexts_of(analyse(CONTEXTS), name) == expected


BAD_CONTEXT_SEEDS = [
    ('[[seed]]\ncontext = "thread"\ncalls = ["threading.Thread"]\n',
     "contexts.toml: [[seed]] #1 (context 'thread'): unknown key 'calls' (known: context, call, "),
    ('[[seed]]\ncontext = "thread"\n[[seed]]\ncontext = "threads"\ncall = ["threading.Thread"]\n',
     "contexts.toml: [[seed]] #2 (context 'threads'): key 'context': unknown context (known: thread, executor, "),
    ('[[seed]]\ncontext = "thread"\ncall = "threading.Thread"\n',
     "contexts.toml: [[seed]] #1 (context 'thread'): key 'call' must be a list of strings, not 'threading.Thread'"),
    ('[[seed]]\ncontext = "thread"\ncall = ["threading.Thread"]\nposition = true\n',
     "contexts.toml: [[seed]] #1 (context 'thread'): key 'position' must be an integer, not True"),
    ('[[seed]]\ncontext = "thread"\nsync-only = 1\n',
     "contexts.toml: [[seed]] #1 (context 'thread'): key 'sync-only' must be true or false, not 1"),
    ('[[seed]]\ncall = ["threading.Thread"]\n', "contexts.toml: [[seed]] #1: no key 'context'"),
    ('[[seeds]]\ncontext = "thread"\n', "contexts.toml: unknown table 'seeds' (known: seed)"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONTEXT_SEEDS, ids=[m for _, m in BAD_CONTEXT_SEEDS])
def test_a_wrong_context_seed_is_refused_when_the_catalogue_loads(text, message):
    with pytest.raises(CatalogueError) as raised:
        context_seeds(tomllib.loads(text))
    assert str(raised.value).startswith(message), str(raised.value)


def test_the_contexts_a_seed_names_are_execution_contexts():
    assert set(SEED_CONTEXTS) <= {context.value for context in Runs}
    assert {seed.context for seed in Catalogue.load().context_seeds} == set(SEED_CONTEXTS)


def test_module_code_and_main_code_are_units_of_their_own():
    analysis = analyse("import asyncio\nx = 1\nif __name__ == '__main__':\n    y = 2\n")
    statements = list(analysis.module.body)
    assert analysis.contexts.at(statements[1]) == {Runs.IMPORT}
    inner = statements[2].body.body[0]  # type: ignore[attr-defined]
    assert analysis.contexts.at(inner) == {Runs.MAIN}


FLOW = """
import asyncio

def sequential():
    loop = asyncio.get_event_loop()
    loop.call_soon(print)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(x())

def branches(flag):
    if flag:
        loop = asyncio.new_event_loop()
        loop.close()
    else:
        loop = asyncio.new_event_loop()
    loop.run_until_complete(x())

def parameter(loop=None):
    if loop is None:
        loop = asyncio.new_event_loop()
    loop.run_until_complete(x())

def returns_early(flag):
    loop = asyncio.new_event_loop()
    if flag:
        loop = None
        return
    loop.close()

def closure():
    loop = None
    def job():
        nonlocal loop
        if loop is None:
            loop = asyncio.new_event_loop()
        loop.run_until_complete(x())
    return job

def looping(items):
    loop = None
    for item in items:
        if loop is None:
            loop = asyncio.new_event_loop()
        loop.run_until_complete(item)
"""


def read_lines(analysis: FileAnalysis, function_name: str, binding_index: int) -> list[int]:
    owner = function(analysis, function_name)
    targets = [
        n for n in m.findall(owner, m.AssignTarget(target=m.Name("loop")))
    ]
    target = targets[binding_index].target  # type: ignore[attr-defined]
    return sorted(analysis.line_of(read) for read in analysis.flow.reads_of(target))


@pytest.mark.parametrize(
    "name, binding, lines",
    [
        ("sequential", 0, [6]),
        ("sequential", 1, [8]),
        ("branches", 0, [13, 16]),
        ("branches", 1, [16]),
        ("parameter", 0, [21]),
        ("returns_early", 0, [28]),
        ("returns_early", 1, []),
        ("closure", 0, [34, 36]),
        ("closure", 1, [34, 36]),
        ("looping", 1, [42, 44]),
    ],
)
def test_each_read_sees_the_bindings_that_reach_it(name, binding, lines):
    assert read_lines(analyse(FLOW), name, binding) == lines


MODULE_FLOW = """
import asyncio

loop = asyncio.get_event_loop()
try:
    loop.run_until_complete(start())
except KeyboardInterrupt:
    loop.run_until_complete(stop())
finally:
    loop.close()
loop = None
print(loop)
"""


def test_module_level_reads_see_the_bindings_that_reach_them():
    analysis = analyse(MODULE_FLOW)
    first, second = (target.target for target in m.findall(analysis.module, m.AssignTarget(target=m.Name("loop"))))
    assert sorted(analysis.line_of(read) for read in analysis.flow.reads_of(first)) == [6, 8, 10]
    assert [analysis.line_of(read) for read in analysis.flow.reads_of(second)] == [12]


HOLDERS = """
import asyncio, functools

module_lock = asyncio.Lock()
_registry = {}
_lazy = None

class Service:
    class_lock = asyncio.Lock()
    _locks = {}

    def __init__(self):
        self.lock = asyncio.Lock()

    @classmethod
    def get(cls, key):
        cls._locks[key] = asyncio.Lock()
        cls.shared = asyncio.Event()

service = Service()

class PerCall:
    def __init__(self):
        self.lock = asyncio.Lock()

def lazy():
    global _lazy
    _lazy = asyncio.Lock()
    _registry["k"] = asyncio.Lock()
    _registry[asyncio.get_running_loop()] = asyncio.Lock()
    local = asyncio.Lock()
    escaped = register(asyncio.Lock())

@functools.lru_cache
def cached():
    return asyncio.Lock()

def default(lock=asyncio.Lock()):
    pass

def outer():
    held = None
    def inner():
        nonlocal held
        held = asyncio.Lock()
    return inner

async def temporary():
    async with asyncio.Lock():
        pass
"""


def holder_at(analysis: FileAnalysis, line: int, nth: int = 0):
    calls = [c for c, _ in analysis.primitive_creations if analysis.line_of(c) == line]
    return analysis.holders.of(calls[nth])


@pytest.mark.parametrize(
    "line, nth, kind, keyed",
    [
        (4, 0, Held.MODULE_GLOBAL, False),
        (9, 0, Held.CLASS_ATTRIBUTE, False),
        (13, 0, Held.SINGLETON_ATTRIBUTE, False),
        (17, 0, Held.CLASS_CONTAINER, False),
        (18, 0, Held.CLASS_ATTRIBUTE, False),
        (24, 0, Held.INSTANCE_ATTRIBUTE, False),
        (28, 0, Held.MODULE_GLOBAL, False),
        (29, 0, Held.MODULE_CONTAINER, False),
        (30, 0, Held.MODULE_CONTAINER, True),
        (31, 0, Held.LOCAL, False),
        (32, 0, Held.ESCAPES, False),
        (36, 0, Held.FUNCTION_CACHE, False),
        (38, 0, Held.DEFAULT_ARGUMENT, False),
        (45, 0, Held.CLOSURE, False),
        (49, 0, Held.TEMPORARY, False),
    ],
)
def test_holders(line, nth, kind, keyed):
    holder = holder_at(analyse(HOLDERS), line, nth)
    assert (holder.kind, holder.per_loop) == (kind, keyed)


def test_a_singletons_attribute_is_read_through_self_and_through_the_instance():
    analysis = analyse(HOLDERS + "\nasync def use():\n    async with service.lock:\n        pass\n")
    holder = holder_at(analysis, 13)
    assert holder.singleton == Singleton(SharedBy.MODULE_INSTANCE, "service", holder.singleton.node)
    assert [analysis.line_of(r) for r in holder.reads] == [53]
    assert [analysis.line_of(w) for w in holder.writes] == [13]


def test_an_access_through_an_unknown_object_makes_a_holder_unfollowable():
    analysis = analyse(HOLDERS + "\ndef peek(obj):\n    return obj.class_lock\n")
    assert holder_at(analysis, 9).accesses is None


@pytest.mark.parametrize(
    "imports, wanted, text, added",
    [
        ("import asyncio\n", "asyncio.get_running_loop", "asyncio.get_running_loop", None),
        ("import asyncio as aio\n", "asyncio.get_running_loop", "aio.get_running_loop", None),
        ("from asyncio import get_running_loop\n", "asyncio.get_running_loop", "get_running_loop", None),
        ("from asyncio import Lock\n", "asyncio.get_running_loop", "asyncio.get_running_loop", "import asyncio"),
        ("import threading\n", "threading.Lock", "threading.Lock", None),
    ],
)
def test_generated_code_uses_the_modules_own_names(imports, wanted, text, added):
    analysis = analyse(imports + "x = 1\n")
    found, request = name_for(analysis.imports, analysis.bindings, wanted, lambda name: not analysis.bindings.taken(name))
    assert found == text
    assert (request.code() if request else None) == added


@pytest.mark.parametrize(
    "before, after",
    [
        # Into the standard-library section, in order; plain imports before from-imports.
        (
            "import json\nimport sys\nfrom typing import Any\n\nimport httpx\n",
            "import asyncio\nimport json\nimport sys\nfrom typing import Any\n\nimport httpx\n",
        ),
        (
            "import json\nimport time\n",
            "import json\nimport threading\nimport time\n",
        ),
        # A standard-library section of its own before the third-party one.
        ("import httpx\n\nx = 1\n", "import asyncio\n\nimport httpx\n\nx = 1\n"),
        # After `from __future__` and the docstring.
        (
            '"""Doc."""\nfrom __future__ import annotations\n\nimport httpx\n',
            '"""Doc."""\nfrom __future__ import annotations\n\nimport asyncio\n\nimport httpx\n',
        ),
        # The first import of a module: after the docstring, with PEP 8 spacing.
        ('"""Doc."""\n\n\ndef f():\n    pass\n', '"""Doc."""\n\nimport asyncio\n\n\ndef f():\n    pass\n'),
        # Below the module's leading comment block (a licence header); a comment right above an
        # import stays with that import.
        (
            '"""Doc."""\n\n# Copyright (c) Somebody.\n# Licence.\n\nimport os\n',
            '"""Doc."""\n\n# Copyright (c) Somebody.\n# Licence.\n\nimport asyncio\nimport os\n',
        ),
        (
            '"""Doc."""\n\n# Why we need it.\nimport os\n',
            '"""Doc."""\n\nimport asyncio\n# Why we need it.\nimport os\n',
        ),
    ],
)
def test_new_imports_go_where_an_import_sorter_puts_them(before, after):
    wanted = "threading" if "import time" in before else "asyncio"
    result = add_imports(cst.parse_module(before), [ImportRequest(wanted)])
    assert result.code == after


@pytest.mark.parametrize(
    "before, requests, after",
    [
        # Two names from one module: one line, in the sorter's order.
        (
            "import json\n\nx = 1\n",
            [ImportRequest("asyncio", "run"), ImportRequest("asyncio", "new_event_loop")],
            "import json\nfrom asyncio import new_event_loop, run\n\nx = 1\n",
        ),
        # Added to the module's own line for the module (constants, classes, then the others).
        (
            "from asyncio import Lock, sleep\n\nx = 1\n",
            [ImportRequest("asyncio", "run"), ImportRequest("asyncio", "TIMEOUT")],
            "from asyncio import TIMEOUT, Lock, run, sleep\n\nx = 1\n",
        ),
        # A line with a comment, or one that would grow past the line length, is left alone.
        (
            "from asyncio import sleep  # pacing\n\nx = 1\n",
            [ImportRequest("asyncio", "run")],
            "from asyncio import sleep  # pacing\nfrom asyncio import run\n\nx = 1\n",
        ),
        (
            "from asyncio import " + ", ".join(f"name{i}" for i in range(11)) + "\n\nx = 1\n",
            [ImportRequest("asyncio", "run")],
            "from asyncio import " + ", ".join(f"name{i}" for i in range(11)) + "\nfrom asyncio import run\n\nx = 1\n",
        ),
    ],
)
def test_names_from_one_module_go_on_one_line(before, requests, after):
    assert add_imports(cst.parse_module(before), requests).code == after


def test_an_import_placed_first_in_the_file_has_no_blank_line_above_it():
    """As when a fix has just removed the import that stood first."""
    module = cst.parse_module("import functools\n\nimport httpx\n\nx = 1\n")
    module = module.with_changes(body=module.body[1:])
    result = add_imports(module, [ImportRequest("asyncio")])
    assert result.code == "import asyncio\n\nimport httpx\n\nx = 1\n"


@pytest.mark.parametrize(
    "before, names, after",
    [
        ("import asyncio\nimport json\nx = json.dumps(1)\n", {"asyncio"}, "import json\nx = json.dumps(1)\n"),
        (
            "from asyncio import Lock, get_event_loop\nx = asyncio.get_event_loop\ny = Lock\n",
            {"get_event_loop"},
            "from asyncio import Lock\nx = asyncio.get_event_loop\ny = Lock\n",
        ),
        ("import asyncio\nx = asyncio.run\n", {"asyncio"}, "import asyncio\nx = asyncio.run\n"),
        ("import asyncio as aio\n'''aio'''\n", {"aio"}, "import asyncio as aio\n'''aio'''\n"),
        # A function's own import, now mentioned by nothing else, goes; with a second name, the line stays.
        (
            "def f():\n    from asyncio import new_event_loop, run\n\n    return run(g())\n",
            {"new_event_loop"},
            "def f():\n    from asyncio import run\n\n    return run(g())\n",
        ),
        ("def f():\n    import asyncio\n\n    return 1\n", {"asyncio"}, "def f():\n    return 1\n"),
        # Still read in another function: both stay.
        (
            "def f():\n    import asyncio\n\n\ndef g():\n    import asyncio\n    asyncio.run(h())\n",
            {"asyncio"},
            "def f():\n    import asyncio\n\n\ndef g():\n    import asyncio\n    asyncio.run(h())\n",
        ),
        # Given the function whose import the removed code used, that function's import goes
        # though another function still reads the name; the other function's import stays.
        (
            "def f():\n    import asyncio\n\n    return 1\n\n\ndef g():\n    import asyncio\n    asyncio.run(h())\n",
            {"asyncio": {"f"}},
            "def f():\n    return 1\n\n\ndef g():\n    import asyncio\n    asyncio.run(h())\n",
        ),
        (
            "def f():\n    from asyncio import new_event_loop, run\n    return run(g())\n\n\n"
            "def k():\n    from asyncio import new_event_loop\n    return new_event_loop()\n",
            {"new_event_loop": {"f"}},
            "def f():\n    from asyncio import run\n    return run(g())\n\n\n"
            "def k():\n    from asyncio import new_event_loop\n    return new_event_loop()\n",
        ),
        # A method, by its qualified name.
        (
            "class W:\n    def f(self):\n        import asyncio\n\n        return 1\n\n\ndef g():\n    import asyncio\n    asyncio.run(h())\n",
            {"asyncio": {"W.f"}},
            "class W:\n    def f(self):\n        return 1\n\n\ndef g():\n    import asyncio\n    asyncio.run(h())\n",
        ),
        # A nested function's own import is its own: the outer function's decision leaves it
        # alone (and the outer one's stays too: a word test keeps an import too many, never one too few).
        (
            "def f():\n    import asyncio\n    def inner(): import asyncio; return asyncio.run(g())\n"
            "    return inner\n\n\ndef k():\n    asyncio = 1\n    return asyncio\n",
            {"asyncio": {"f"}},
            "def f():\n    import asyncio\n    def inner(): import asyncio; return asyncio.run(g())\n"
            "    return inner\n\n\ndef k():\n    asyncio = 1\n    return asyncio\n",
        ),
        (
            "def f():\n    import asyncio\n    def inner(): import asyncio; return asyncio.run(g())\n"
            "    return inner\n\n\ndef k():\n    asyncio = 1\n    return asyncio\n",
            {"asyncio": {"f.inner"}},
            "def f():\n    import asyncio\n    def inner(): import asyncio; return asyncio.run(g())\n"
            "    return inner\n\n\ndef k():\n    asyncio = 1\n    return asyncio\n",
        ),
        # Still read in the function (by a nested one): it stays.
        (
            "def f():\n    import asyncio\n    def inner():\n        return asyncio.run(g())\n    return inner\n\n\n"
            "asyncio = None\n",
            {"asyncio": {"f"}},
            "def f():\n    import asyncio\n    def inner():\n        return asyncio.run(g())\n    return inner\n\n\n"
            "asyncio = None\n",
        ),
    ],
)
def test_imports_a_fix_left_unused_are_removed(before, names, after):
    from loopcheck.fixes.imports import remove_unused

    assert remove_unused(cst.parse_module(before), names).code == after


THREAD_REACH = """
import asyncio, threading
import redis.asyncio as redis
from apscheduler.schedulers.background import BackgroundScheduler

cache = redis.from_url("redis://localhost")
db = cache.client
lock = asyncio.Lock()
scheduler = BackgroundScheduler()

def refresh():
    asyncio.run(store())
    cache.ping

async def store():
    await cache.set("k", "v")
    await db.get("k")

async def handler():
    await cache.get("k")

def plain():
    local_lock = asyncio.Lock()
    return lock

scheduler.add_job(refresh, "interval", seconds=10)
"""


def test_thread_reach_knows_the_objects_every_loop_shares():
    analysis = analyse(THREAD_REACH)
    shared = analysis.thread_reach.shared_objects
    assert [(s.holder.name, type(s.made).__name__) for s in shared] == [("cache", "Client"), ("lock", "Primitive")]


def test_thread_reach_follows_module_globals_made_from_a_shared_object():
    analysis = analyse(THREAD_REACH)
    cache = analysis.thread_reach.shared_objects[0].holder
    assert sorted(analysis.line_of(r) for r in analysis.thread_reach.reads(cache)) == [7, 13, 16, 17, 20]
    assert sorted(analysis.line_of(r) for r in cache.reads) == [7, 13, 16, 20]


def test_thread_reach_finds_a_scheduler_jobs_use_on_its_own_loop_only():
    analysis = analyse(THREAD_REACH)
    uses = analysis.thread_reach.threaded_uses
    # `store` runs on the job's loop; `cache.ping` in `refresh` runs outside it; `handler` is the
    # application's; `plain` is never a job.
    assert [(u.shared.holder.name, u.unit.name.value, u.context, analysis.line_of(u.read)) for u in uses] == [
        ("cache", "store", Runs.SCHEDULER_JOB, 16)
    ]
    users = analysis.thread_reach.application_users(uses[0].shared.holder, uses[0].unit)
    assert [f.name.value for f in users] == ["handler"]


def test_on_a_loop_is_inside_a_coroutine_or_the_coroutine_a_run_is_given():
    analysis = analyse(
        "import asyncio\nx = object()\n"
        "def sync():\n    asyncio.run(work(x))\n    print(x)\n"
        "def run_here(loop):\n    loop.run_until_complete(work(x))\n"
        "async def coro():\n    return x\n"
    )
    reach = analysis.thread_reach
    names = [n for n in m.findall(analysis.module, m.Name("x")) if analysis.line_of(n) > 2]
    answers = {analysis.line_of(n): reach.on_a_loop(n, analysis.contexts.unit_of(n)) for n in names}
    assert answers == {4: True, 5: False, 7: True, 9: True}


def test_a_task_per_thread_runner_is_a_celery_task_or_a_threads_code():
    analysis = analyse(
        "import asyncio\nfrom celery import shared_task\n"
        "@shared_task\ndef task():\n    loop.run_until_complete(work())\n"
        "def helper():\n    loop.run_until_complete(work())\n"
    )
    runs = analysis.loop_uses.run_calls()
    runner = analysis.thread_reach.task_per_thread_runner(runs)
    assert runner is not None and (runner[0].name.value, runner[1]) == ("task", Runs.CELERY_TASK)
    assert analysis.thread_reach.task_per_thread_runner(runs[1:]) is None


HANDOFFS = """
import asyncio
_loop = asyncio.new_event_loop()

def submit(coro):
    asyncio.run_coroutine_threadsafe(coro, _loop)
    asyncio.run_coroutine_threadsafe(coro, loop=_loop)
    asyncio.run_coroutine_threadsafe(_loop)
    _loop.call_soon_threadsafe(print)
    schedule = _loop.call_soon_threadsafe
    _loop.call_soon(print)
"""


def test_handoffs_name_the_loop_each_threadsafe_call_hands_work_to():
    analysis = analyse(HANDOFFS)
    handoffs = analysis.thread_reach.handoffs
    assert [(analysis.line_of(call), analysis.module.code_for_node(loop)) for call, loop in handoffs] == [
        (6, "_loop"),
        (7, "_loop"),
        (9, "_loop"),
    ]


def test_handed_work_asks_about_any_argument_and_an_uncalled_method():
    analysis = analyse(HANDOFFS)
    names = [n for n in m.findall(analysis.module, m.Name("_loop")) if analysis.line_of(n) > 3]
    answers = {analysis.line_of(n): analysis.thread_reach.handed_work(n) for n in names}
    assert answers == {6: True, 7: True, 8: True, 9: True, 10: True, 11: False}


def test_a_loop_captured_outside_the_application_and_handed_work_is_found():
    analysis = analyse(
        "import asyncio\n_loop = asyncio.get_event_loop()\n"
        "def on_price(p):\n    asyncio.run_coroutine_threadsafe(handle(p), _loop)\n"
        "def on_trade(t):\n    _loop.call_soon_threadsafe(print, t)\n"
    )
    [captured] = analysis.thread_reach.captured_loops_handed_work
    assert captured.holder.name == "_loop" and analysis.line_of(captured.creation) == 2
    assert [analysis.line_of(c) for c in captured.handoffs] == [4, 6]


def test_a_loop_the_application_captures_or_this_module_runs_is_not_captured():
    running = analyse(
        "import asyncio\nmain_loop = None\nasync def main():\n    global main_loop\n"
        "    main_loop = asyncio.get_running_loop()\n"
        "def on_message(m):\n    asyncio.run_coroutine_threadsafe(handle(m), main_loop)\n"
    )
    served = analyse(
        "import asyncio, threading\n_loop = asyncio.new_event_loop()\n"
        "threading.Thread(target=_loop.run_forever).start()\n"
        "def submit(coro):\n    asyncio.run_coroutine_threadsafe(coro, _loop)\n"
    )
    assert running.thread_reach.captured_loops_handed_work == []
    assert served.thread_reach.captured_loops_handed_work == []


KEPT_LOOP = """
import asyncio

_shared = None

def shared_loop():
    global _shared
    if not _shared:
        _shared = asyncio.new_event_loop()
    # made once per process
    return _shared

def job(x):
    loop = shared_loop()
    return loop.run_until_complete(work(x))
"""


def test_a_kept_loop_is_followed_through_its_getter_and_local_copies():
    from loopcheck.analysis.loop_uses import Use

    analysis = analyse(KEPT_LOOP)
    [(call, found)] = analysis.kept_loops.found
    assert analysis.line_of(call) == 9 and found.holder.name == "_shared"
    assert found.unfollowable is None
    assert [analysis.line_of(g) for g in found.guards] == []  # the getter's `if` goes with the getter
    retired = [type(node).__name__ for node in found.retired]
    assert retired == ["Assign", "FunctionDef", "Assign"]  # `= None`, the getter, `loop = shared_loop()`
    assert [(u.kind, analysis.line_of(u.node)) for u in found.uses] == [(Use.RUN, 15)]
    assert not analysis.kept_loops.closed_after_each_run(found)


def test_a_loop_closed_after_each_run_is_not_reused():
    analysis = analyse(
        "import asyncio\n_loop = None\n"
        "def task():\n    global _loop\n    _loop = asyncio.new_event_loop()\n"
        "    _loop.run_until_complete(work())\n    _loop.close()\n"
    )
    [(_, found)] = analysis.kept_loops.found
    assert analysis.kept_loops.closed_after_each_run(found)


def test_only_a_loop_kept_beyond_the_call_is_a_kept_loop():
    analysis = analyse(
        "import asyncio\n"
        "def per_call():\n    loop = asyncio.new_event_loop()\n    loop.run_until_complete(work())\n"
        "class Session:\n    def __enter__(self):\n        self._loop = asyncio.new_event_loop()\n"
        "stepped = None\n"
        "def via_local():\n    global stepped\n    loop = asyncio.new_event_loop()\n    stepped = loop\n"
        "current = asyncio.get_event_loop() or None\n"
    )
    kept = analysis.kept_loops
    calls = list(analysis.names.calls_to(analysis.catalogue.loop_api.loop_factories))
    assert [(analysis.line_of(c), h.name if (h := kept.holder_of(c)) else None) for c in calls] == [
        (3, None),  # a local of one call
        (7, None),  # an ordinary instance owns it, like asyncio.Runner
        (11, "stepped"),  # the local is a step on the way to the global
        (13, None),  # module-level `get_event_loop()` inside an expression
    ]


@pytest.mark.parametrize(
    "source, obstacle, getter",
    [
        (KEPT_LOOP + "__all__ = ['shared_loop']\n", "GETTER_EXPORTED", "shared_loop"),
        (KEPT_LOOP + "callbacks = [shared_loop]\n", "GETTER_PASSED_ON", "shared_loop"),
        (KEPT_LOOP + "def reset():\n    global _shared\n    _shared = object()\n", "OTHER_WRITE", None),
        (KEPT_LOOP + "def peek(module):\n    return module._shared\n", None, None),
        (KEPT_LOOP, None, None),
    ],
)
def test_what_stops_a_kept_loop_from_being_followed(source, obstacle, getter):
    [(_, found)] = analyse(source).kept_loops.found
    assert (found.unfollowable.name if found.unfollowable else None, found.getter) == (obstacle, getter)


def test_an_if_that_only_tests_the_loop_is_its_guard():
    analysis = analyse(
        "import asyncio\n_loop = asyncio.new_event_loop()\n"
        "def a():\n    if _loop is not None:\n        _loop.close()\n"
        "def b():\n    if not _loop or _loop.is_closed():\n        pass\n"
        "def c():\n    if _loop.is_running():\n        pass\n"
        "def d():\n    if _loop is None:\n        pass\n    else:\n        pass\n"
    )
    names = [n for n in m.findall(analysis.module, m.Name("_loop")) if analysis.line_of(n) > 2]
    guards = {analysis.line_of(n): analysis.kept_loops.guard_of(n) is not None for n in names}
    assert guards == {4: True, 5: False, 7: True, 10: False, 13: False}


CURRENT_OR_NEW = """
import asyncio

def run_in_try(coro):
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    return loop.run_until_complete(coro)

def run_if_closed(coro):
    loop = asyncio.get_event_loop()
    if loop.is_closed():
        loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)

def get_loop():
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        spare = asyncio.new_event_loop()
        asyncio.set_event_loop(spare)
        return spare
    return running

def closes_it():
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        spare = asyncio.new_event_loop()
        asyncio.set_event_loop(spare)
        spare.close()
        return spare

def does_more(coro):
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        print("made one")
    return loop.run_until_complete(coro)

def fresh():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop
"""


def test_the_current_loop_or_a_new_one_in_one_variable():
    analysis = analyse(CURRENT_OR_NEW)
    answers = {}
    for call in analysis.names.calls_to(analysis.catalogue.loop_api.current_loop):
        holder = analysis.holders.of(call)
        statement = analysis.current_or_new.fallback(holder)
        answers[analysis.tree.enclosing_function(call).name.value] = type(statement).__name__
    assert answers == {"run_in_try": "Try", "run_if_closed": "If", "closes_it": "NoneType", "does_more": "NoneType"}


def test_the_reads_of_a_current_or_new_variable_are_outside_its_fallback():
    analysis = analyse(CURRENT_OR_NEW + "def twice(coro):\n    loop = asyncio.get_event_loop()\n"
                       "    if loop.is_closed():\n        loop = asyncio.new_event_loop()\n"
                       "        asyncio.set_event_loop(loop)\n    loop.run_until_complete(coro)\n    return loop\n")
    found = {}
    for call in analysis.loop_uses.current_loop_calls():
        holder = analysis.holders.of(call)
        fallback = analysis.current_or_new.fallback(holder)
        if fallback is not None:
            reads = analysis.current_or_new.references(holder, fallback)
            found[analysis.tree.enclosing_function(call).name.value] = [analysis.line_of(r) for r in reads]
    # Not the `is_closed()` test nor `set_event_loop(loop)`: both are part of the fallback.
    assert found == {"run_in_try": [10], "run_if_closed": [16], "twice": [53, 54]}


def test_a_helper_that_hands_out_the_current_loop_or_a_new_one():
    analysis = analyse(CURRENT_OR_NEW)
    assert [f.name.value for f in analysis.current_or_new.helpers()] == ["get_loop"]
    # The one-variable forms do not return the loop; `closes_it` closes the new loop and `fresh`
    # never returns the current one.
    [run_in_try] = [each for each in analysis.current_or_new.found if each.helper is None and isinstance(each.statement, cst.Try)]
    assert run_in_try.variable == "loop" and analysis.line_of(run_in_try.current_line) == 6


def test_a_variable_returned_from_both_alternatives_is_a_helper_too():
    analysis = analyse(
        "import asyncio\ndef get_loop():\n    try:\n        loop = asyncio.get_event_loop()\n"
        "    except RuntimeError:\n        loop = asyncio.new_event_loop()\n"
        "        asyncio.set_event_loop(loop)\n    return loop\n"
    )
    [found] = analysis.current_or_new.found
    assert isinstance(found.statement, cst.Try) and found.helper is function(analysis, "get_loop")


RUNS_AND_LOOPS = """
import asyncio

loop = asyncio.new_event_loop()
loop.run_until_complete(main())

def sync():
    made = asyncio.new_event_loop()
    asyncio.get_event_loop()
    return asyncio.run(main())

async def coro():
    asyncio.get_event_loop().run_until_complete(main())
    asyncio.new_event_loop()
    helper = lambda: asyncio.new_event_loop()
"""


def test_runs_and_current_loop_calls_in_coroutines_or_outside_them():
    analysis = analyse(RUNS_AND_LOOPS)
    uses = analysis.loop_uses
    lines = lambda calls: [analysis.line_of(c) for c in calls]  # noqa: E731
    assert lines(uses.run_calls()) == [5, 10, 13]
    assert lines(uses.run_calls(in_coroutine=True)) == [13]
    assert lines(uses.run_calls(in_coroutine=False)) == [5, 10]
    assert lines(uses.current_loop_calls(in_coroutine=True)) == [13]
    assert lines(uses.current_loop_calls(in_coroutine=False)) == [9]


def test_new_loops_in_synchronous_defs_leave_out_module_code_coroutines_and_lambdas():
    analysis = analyse(RUNS_AND_LOOPS)
    found = analysis.loop_uses.new_loops_in_synchronous_defs()
    assert [(analysis.line_of(call), f.name.value) for call, f in found] == [(8, "sync")]


def calls_named(analysis: FileAnalysis, method: str) -> list[cst.Call]:
    return [c for c in analysis.index.calls_by_leaf.get(method, ())]


def test_which_loop_a_call_runs_on():
    analysis = analyse(
        "import asyncio\n"
        "def a(coro):\n    asyncio.get_running_loop().run_until_complete(coro)\n"
        "def b(coro):\n    loop = asyncio.get_running_loop()\n    loop.run_until_complete(coro)\n"
        "def c(coro, loop):\n    loop.run_until_complete(coro)\n"
        "def d(coro):\n    loop = asyncio.new_event_loop()\n    loop.run_until_complete(coro)\n"
        "def e(coro):\n    self.loop = asyncio.new_event_loop()\n    self.loop.run_until_complete(coro)\n"
    )
    uses = analysis.loop_uses
    runs = {analysis.tree.enclosing_function(c).name.value: c for c in calls_named(analysis, "run_until_complete")}
    assert {name: uses.on_running_loop(run) for name, run in runs.items()} == {
        "a": True, "b": True, "c": False, "d": False, "e": False,
    }
    receivers = {name: uses.receiver_loop(run) for name, run in runs.items()}
    assert {name: holder.name for name, holder in receivers.items() if holder} == {"b": "loop", "d": "loop"}


def test_a_run_inside_an_is_running_test():
    analysis = analyse(
        "import asyncio\n"
        "def a(loop, coro):\n    if loop.is_running():\n        loop.run_until_complete(coro)\n"
        "def b(loop, coro):\n    if loop.is_running():\n        pass\n    else:\n        loop.run_until_complete(coro)\n"
        "def c(loop, coro):\n    if loop.is_running():\n        def later():\n            loop.run_until_complete(coro)\n"
    )
    runs = calls_named(analysis, "run_until_complete")
    assert [analysis.loop_uses.inside_is_running(run) is not None for run in runs] == [True, False, False]


def test_a_get_event_loop_whose_runtime_error_is_caught():
    analysis = analyse(
        "import asyncio\n"
        "def a():\n    try:\n        asyncio.get_event_loop()\n    except RuntimeError:\n        pass\n"
        "def b():\n    try:\n        asyncio.get_event_loop()\n    except:\n        pass\n"
        "def c():\n    try:\n        asyncio.get_event_loop()\n    except ValueError:\n        pass\n"
        "def d():\n    try:\n        pass\n    except RuntimeError:\n        asyncio.get_event_loop()\n"
        "def e():\n    try:\n        def inner():\n            asyncio.get_event_loop()\n    except Exception:\n        pass\n"
    )
    calls = analysis.loop_uses.current_loop_calls()
    assert [analysis.loop_uses.caught_without_loop(c) for c in calls] == [True, True, False, False, False]


def test_the_other_bindings_a_loop_variable_may_hold_where_it_is_used():
    analysis = analyse(
        "import asyncio\n"
        "def a(flag):\n    loop = asyncio.new_event_loop()\n    if flag:\n        loop = asyncio.get_event_loop()\n"
        "    loop.run_until_complete(work())\n"
        "def b():\n    loop = asyncio.new_event_loop()\n    loop.run_until_complete(work())\n"
        "    loop = None\n"
    )
    uses, api = analysis.loop_uses, analysis.catalogue.loop_api
    (first, _), (second, _) = uses.new_loops_in_synchronous_defs()
    others = uses.other_bindings(analysis.holders.of(first))
    assert [analysis.line_of(b) for b in others] == [5]
    assert [uses.binds_call(b, api.current_loop) for b in others] == [True]
    assert [uses.binds_call(b, api.new_loop) for b in others] == [False]
    assert uses.other_bindings(analysis.holders.of(second)) == set()


def test_the_set_up_of_the_loop_get_event_loop_fetches():
    analysis = analyse(
        "import asyncio\n"
        "def a():\n    asyncio.set_event_loop(asyncio.new_event_loop())\n"
        "    asyncio.get_event_loop().run_until_complete(work())\n"
        "def b():\n    asyncio.set_event_loop(asyncio.new_event_loop())\n"
        "    asyncio.get_event_loop().run_until_complete(work())\n    asyncio.get_event_loop().close()\n"
        "def c(loop):\n    asyncio.set_event_loop(loop)\n    asyncio.get_event_loop().run_until_complete(work())\n"
    )
    set_up = [analysis.loop_uses.loop_set_up(call) for call in analysis.loop_uses.current_loop_calls()]
    assert [[analysis.line_of(s) for s in found] for found in set_up] == [[3], [], [], []]


@pytest.mark.parametrize(
    "source, exports",
    [
        ("__all__ = ['get_loop', '_lock']\n", {"get_loop", "_lock"}),
        ("__all__ = ('a',)\n__all__ += ['b']\n", {"a", "b"}),
        ("names = ['get_loop']\n", set()),
    ],
)
def test_exports_are_the_names_all_lists(source, exports):
    assert analyse(source).exports == exports


PLACED = '''\
import asyncio
module_lock = asyncio.Lock()
class Box:
    class_lock = asyncio.Lock()
    def method(self, default_lock=asyncio.Lock()):
        function_lock = asyncio.Lock()
    async def coroutine(self, late_lock=asyncio.Lock()):
        coroutine_lock = asyncio.Lock()
handler = lambda: asyncio.Lock()
if __name__ == "__main__":
    main_lock = asyncio.Lock()
'''


def test_a_construct_sits_where_the_rules_declare_it():
    """Tree.site answers in the vocabulary of the rules' starts (Where), a coroutine's body apart
    from a plain function's; what the candidate stage cannot tell apart is ELSEWHERE."""
    analysis = analyse(PLACED)
    position = analysis.wrapper.resolve(PositionProvider)
    sites = {
        position[call].start.line: analysis.tree.site(call).kind for call, _ in analysis.primitive_creations
    }
    assert sites == {
        2: Where.MODULE,
        4: Where.CLASS,
        5: Where.DEFAULT,
        6: Where.FUNCTION,
        7: Where.DEFAULT,  # evaluated by the `def`, at import, not under a loop
        8: Where.COROUTINE,
        9: Where.ELSEWHERE,
        11: Where.ELSEWHERE,
    }


@pytest.mark.parametrize(
    ("source", "never_waited"),
    [
        ("import asyncio\nready = asyncio.Event()\nasync def go():\n    ready.set()\n", [True]),
        ("import asyncio\nready = asyncio.Event()\nasync def go():\n    await ready.wait()\n", [False]),
        ("import asyncio\nready, lock = asyncio.Event(), asyncio.Lock()\n", [True, False]),
    ],
    ids=["only-set", "waited", "not-an-event"],
)
def test_an_event_nothing_waits_on_never_binds_to_a_loop(source, never_waited):
    analysis = analyse(source)
    assert [analysis.never_waited_event(made) for _, made in analysis.primitive_creations] == never_waited


@pytest.mark.parametrize(
    ("source", "runs"),
    [
        ("import asyncio\nloop = asyncio.new_event_loop()\nloop.run_until_complete(main())\n", True),
        ("import asyncio\nloop = asyncio.new_event_loop()\nloop.run_forever()\n", True),
        ("import asyncio\ndef serve(loop):\n    loop.run_forever()\n", False),
        ("import asyncio\nasyncio.run(main())\n", False),
    ],
    ids=["runs", "serves", "in-a-function", "asyncio-run"],
)
def test_whether_importing_the_module_runs_a_loop(source, runs):
    assert analyse(source).loop_uses.import_runs_a_loop is runs


POSITIONED = [
    # comments and blank lines before the first statement (the module's header), a decorated
    # class, nested blocks, a statement of several lines, two statements on one line
    '#!/usr/bin/env python\n# a comment\n\nimport asyncio\n\n@decorate(\n    1)\nclass A:\n'
    '    def f(self):\n        if x:\n            loop = asyncio.new_event_loop(); loop.run_forever()\n\n'
    'value = call(\n    a,\n    b)  # trailing\nlast = 1',  # no newline at the end
    "x = 1\r\nif x:\r\n    y = f(\r\n        2)\r\n",  # CRLF
    "def g():\n\tpass\n# a comment at the end\n\n",  # tab indentation, the module's footer
    # comments between and after decorators, a decorator in brackets over lines (its ``ast`` line
    # is not the ``@``'s), a block's indented trailing comment, a string whose lines start at
    # column 0, a lone CR ending lines
    "import a\n\n# before\n@(\n    deco\n)\n# between\n@other\n\n# after\nasync def f():\n    x = 1\n"
    "        # the block's\n# the next one's\nS = '''\nclass B:\n'''\n@d\nclass C: pass\n",
    "x = 1\ry = (\r    2)\r\r@d\rdef h(): pass\r",
]


@pytest.mark.parametrize("with_tree", [False, True], ids=["alone", "with-ast-lines"])
@pytest.mark.parametrize("source", POSITIONED)
@pytest.mark.parametrize("first", ["last", "first"])
def test_positions_are_those_of_position_provider_whichever_node_is_asked_first(source, first, with_tree):
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = [statement.lineno for statement in ast.parse(source).body] if with_tree else None
    analysis = FileAnalysis(MetadataWrapper(module, unsafe_skip_copy=True), Catalogue.load(), lines)
    nodes = list(analysis.index.parents)
    assert len(nodes) > 20
    # The last statements first (each is started where it starts), or in source order (the
    # statements before each are followed as far as it only).
    for node in reversed(nodes) if first == "last" else nodes:
        assert analysis.positions[node] == expected[node], node
    assert analysis.positions[module] == expected[module]


@pytest.mark.parametrize("source", POSITIONED)
def test_statement_starts_read_from_the_ast_lines_are_those_of_the_pass_over_the_code(source):
    module = cst.parse_module(source)
    counted = Positions(module, {}, dict)
    by_code = {statement: counted._start_of(statement) for statement in module.body}
    assert _starts_from_lines(module, [statement.lineno for statement in ast.parse(source).body]) == by_code


def test_statement_starts_are_not_read_from_lines_that_do_not_line_up():
    module = cst.parse_module("a = 1; b = 2\nc = 3\n")
    assert _starts_from_lines(module, [1, 1]) is None  # a statement short
    assert _starts_from_lines(module, [1, 1, 2, 3]) is None  # one too many


SCOPED = textwrap.dedent('''
    import asyncio as aio, os.path
    from typing import TYPE_CHECKING, cast
    from collections import *
    x = 1
    def f(a, *args, b=x, **kw) -> "aio.Lock":
        global x
        x = cast("aio.Event", a)
        lock = aio.Lock()
        def g():
            nonlocal lock
            return [lock for lock in args if (y := lock)]
        return lock, os.path.join, deque
    class C:
        attribute: "aio.Queue[int]" = aio.Queue()
        def m(self):
            return attribute, C, {k: v for k, v in kw}
    lambda q: q + x
    try:
        pass
    except Exception as error:
        del error
''')


def _scope_shape(scopes, node, own):
    """What a rule can read of ``node``'s scope: its kind and name, what it binds and reads, and
    the qualified names ``node`` has in it (the scopes themselves are new objects each time)."""
    scope = scopes.get(node)
    if scope is None:
        return None
    return (
        type(scope).__name__,
        scope._name_prefix,
        sorted((a.name, type(a).__name__, getattr(a, "node", None) in own) for a in scope.assignments),
        sorted((name, len(accesses)) for name, accesses in scope._accesses_by_name.items()),
        sorted(q.name for q in scope.get_qualified_names_for(node)),
    )


def test_scopes_are_those_of_the_scope_provider():
    from libcst.metadata import ScopeProvider

    module = cst.parse_module(SCOPED)
    analysis = FileAnalysis(MetadataWrapper(module, unsafe_skip_copy=True), Catalogue.load())
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    own = {module, *analysis.index.parents}
    assert {node for node in expected if node in own} == {node for node in analysis.scopes if node in own}
    assert len(analysis.scopes) == len(expected)  # the string annotations' own nodes too
    qualified = 0
    for node in own:
        assert _scope_shape(analysis.scopes, node, own) == _scope_shape(expected, node, own), node
        qualified += bool(expected.get(node) and expected[node].get_qualified_names_for(node))
    assert qualified > 20
    # the same scope object for nodes that share one
    assert analysis.scopes[module] is analysis.scopes[module.body[0]]


class _VisitOrder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.append(node)
        return True


def test_the_index_walks_the_nodes_a_visitor_meets_in_its_order_with_their_parents(monkeypatch):
    from libcst.metadata import ParentNodeProvider

    from loopcheck.analysis import children
    from loopcheck.analysis.index import FileIndex

    monkeypatch.setattr(children, "_VISITED", {})  # learned from this module's nodes
    # An f-string part visits its format spec only when it has one: the first has none.
    module = cst.parse_module(
        SCOPED + 'text = f"{a!r}" + f"{b:>{width}}"\nfrom . import (c as d)\n@f()\nasync def h(): ...\n'
    )
    visitor = _VisitOrder()
    module.visit(visitor)
    index = FileIndex.of(module)
    assert [module, *index.parents] == visitor.nodes
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider)
    assert all(index.parents[node] is expected[node] for node in visitor.nodes[1:])
    assert any(isinstance(node, cst.FormattedStringExpression) and node.format_spec for node in index.parents)
