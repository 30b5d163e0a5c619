"""Loop reach over hand-written summaries, and the evidence it attaches to findings."""

from __future__ import annotations

import dataclasses
import os

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic, declined
from loopcheck.project import reach as reach_module
from loopcheck.project.evidence import UNREACHED_NOTE, attach
from loopcheck.project.model import ProjectModel
from loopcheck.project.reach import CONFINED, SHARED, UNREACHED, compute_reach
from loopcheck.project.records import MODULE_CODE, Class, Function, Holder, LoopStart, ModuleSummary, Reference

CATALOGUE = Catalogue.load()


# Summaries written compactly: a reference is "name" (read) or "name()" (called); a function's
# references sit on the lines after its own, in order.


def ref(text: str, line: int = 1, column: int = 4) -> Reference:
    called = text.endswith("()")
    return Reference(text[:-2] if called else text, line, column, called)


def start(entry: str, lifetime: str, runs: str, line: int, loop: str | None = None) -> LoopStart:
    return LoopStart(entry, lifetime, loop, (ref(runs + "()", line, 20),), line, 11)


def fn(name, *refs, line=1, contexts=(), starts=(), parameters=(), is_async=False) -> Function:
    references = tuple(ref(text, line + n + 1) for n, text in enumerate(refs))
    return Function(name, is_async, line, 0, tuple(contexts), references, tuple(starts), tuple(parameters))


def afn(name, *refs, **kwargs) -> Function:
    return fn(name, *refs, is_async=True, **kwargs)


def holder(name, line, kind="client", what="redis.asyncio.Redis", how="global") -> Holder:
    return Holder(name, kind, what, how, line, 10)


def mod(name, *functions, holders=(), imports=(), instances=(), classes=(), path=None) -> ModuleSummary:
    path = path or "/project/" + name.replace(".", "/") + ".py"
    imports = tuple(alias if isinstance(alias, tuple) else (alias, f"app.{alias}") for alias in imports)
    return ModuleSummary(name, path, False, imports, (), tuple(functions), tuple(classes), tuple(holders), tuple(instances))


def reach_of(*modules):
    return compute_reach(ProjectModel(modules), CATALOGUE)


def object_reach(reach, name):
    return next(o for o in reach.objects if o.holder.name == name)


# The incident: a Celery task runs asyncio.run -> an adapter -> a client module -> a lazy global.
CLIENT = mod("app.client", fn("get_redis", "_redis", line=11), holders=[holder("_redis", 10, how="lazy-global")])
ADAPTER = mod("app.adapter", afn("fetch", "client.get_redis()", line=2), imports=["client"])


def celery_task(module="app.tasks", task="refresh", runs="adapter.fetch", line=5):
    return mod(
        module,
        fn(task, runs + "()", line=line - 1, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", runs, line)]),
        imports=["adapter"],
    )


def test_celery_task_asyncio_run_reaches_a_lazy_global_through_two_modules():
    found = object_reach(reach_of(celery_task(), ADAPTER, CLIENT), "_redis")
    assert found.verdict == SHARED
    (chain,) = found.chains
    assert chain.loop.lifetime == "per-call" and chain.loop.repeats
    assert chain.loop.describe == "the Celery task 'refresh' (asyncio.run: a new event loop per call)"
    assert [(s.path, s.line, s.column, s.message) for s in chain.steps] == [
        ("/project/app/tasks.py", 5, 21, "runs adapter.fetch"),
        ("/project/app/adapter.py", 3, 5, "calls client.get_redis"),
        ("/project/app/client.py", 12, 5, "uses _redis"),
    ]
    assert chain.through == ("adapter.fetch", "client.get_redis")
    assert found.error == "Event loop is closed"  # redis.asyncio.Redis in data/clients.toml


def worker_module(name):
    """A task module keeping its own ``_worker_loop`` that runs work using services.redis_client."""
    return mod(
        name,
        fn(
            "job",
            "_worker_loop",
            "work()",
            line=4,
            contexts=["celery-task"],
            starts=[start("run_until_complete", "kept", "work", 6, loop="_worker_loop")],
        ),
        afn("work", "services.redis_client.get()", line=8),
        holders=[holder("_worker_loop", 2, kind="loop", what="asyncio.AbstractEventLoop")],
        imports=["services"],
    )


SERVICES = mod(
    "app.services",
    fn("RedisClient.__init__", line=3),
    afn("RedisClient.get", "self.client.get()", line=6),
    holders=[holder("RedisClient.client", 4, how="instance-attribute")],
    classes=[Class("RedisClient", (), ("__init__", "get"), 2)],
    instances=[("redis_client", "RedisClient")],
)


def test_two_kept_worker_loops_share_a_module_level_instances_client():
    found = object_reach(reach_of(worker_module("app.tasks_a"), worker_module("app.tasks_b"), SERVICES), "RedisClient.client")
    assert found.verdict == SHARED
    assert sorted(c.loop.key_in_any_process for c in found.chains) == [
        "holder:app.tasks_a:_worker_loop",
        "holder:app.tasks_b:_worker_loop",
    ]
    assert {c.loop.process_kind for c in found.chains} == {"celery-worker"}
    assert all(not c.loop.repeats for c in found.chains)
    assert found.chains[0].steps[-1].message == "uses self.client.get"
    assert found.chains[0].through == ("tasks_a.work", "services.RedisClient.get")


def test_one_kept_loop_is_confined():
    found = object_reach(reach_of(worker_module("app.tasks_a"), SERVICES), "RedisClient.client")
    assert found.verdict == CONFINED
    assert found.why.startswith("only the Celery task 'job' (run_until_complete: the loop it is called on)")


def test_an_instance_attribute_without_a_kept_instance_is_not_judged():
    services = mod(
        "app.services",
        afn("RedisClient.get", "self.client.get()", line=6),
        holders=[holder("RedisClient.client", 4, how="instance-attribute")],
        classes=[Class("RedisClient", (), ("get",), 2)],
    )
    work = mod(
        "app.tasks_a",
        fn("job", "services.RedisClient()", line=4, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", "work", 6)]),
        afn("work", "services.RedisClient.get()", line=8),
        imports=["services"],
    )
    found = object_reach(reach_of(work, services), "RedisClient.client")
    assert found.verdict == UNREACHED and len(found.chains) == 1


def test_an_object_only_the_server_loop_reaches_is_confined():
    db = mod("app.db", afn("connect", "_pool", line=3), holders=[holder("_pool", 2, what="asyncpg.Pool")])
    app = mod(
        "app.main",
        afn("startup", "db.connect()", line=3, contexts=["lifespan"]),
        afn("shutdown", "db.connect()", line=7, contexts=["lifespan"]),
        imports=["db"],
    )
    found = object_reach(reach_of(app, db), "_pool")
    assert found.verdict == CONFINED
    assert {c.loop.key_in_any_process for c in found.chains} == {"server"}


def to_browser_loop(runs, line):
    return start("run_coroutine_threadsafe", "kept", runs, line, loop="browser.get_browser_loop()")


def test_run_coroutine_threadsafe_always_to_one_getter_loop_is_confined():
    browser = mod(
        "app.browser",
        fn("get_browser_loop", "_loop", line=5),
        afn("shot", "_browser", line=9),
        afn("scrape_page", "_browser", line=12),
        holders=[
            holder("_loop", 2, kind="loop", what="asyncio.AbstractEventLoop", how="lazy-global"),
            holder("_browser", 3, what="playwright.Browser"),
        ],
    )
    caller = mod(
        "app.jobs",
        fn("take", "browser.shot()", line=3, contexts=["thread"], starts=[to_browser_loop("browser.shot", 4)]),
        fn("scrape", "browser.scrape_page()", line=7, contexts=["celery-task"], starts=[to_browser_loop("browser.scrape_page", 8)]),
        imports=["browser"],
    )
    found = object_reach(reach_of(caller, browser), "_browser")
    assert found.verdict == CONFINED
    assert {c.loop.key_in_any_process for c in found.chains} == {"holder:app.browser:_loop"}


def cli(calls_of_main=1):
    return mod(
        "app.cli",
        fn("main", "amain()", line=3, starts=[start("asyncio.run", "per-call", "amain", 4)]),
        afn("amain", "client.get_redis()", line=6),
        fn(MODULE_CODE, *["main()"] * calls_of_main, line=10),
        imports=["client"],
    )


def test_a_command_line_main_running_asyncio_run_once_does_not_share():
    found = object_reach(reach_of(cli(), CLIENT), "_redis")
    assert found.verdict == CONFINED
    assert not found.chains[0].loop.repeats


def test_a_function_with_asyncio_run_called_from_two_places_repeats():
    found = object_reach(reach_of(cli(calls_of_main=2), CLIENT), "_redis")
    assert found.verdict == SHARED and found.chains[0].loop.repeats


def test_a_function_with_asyncio_run_called_in_a_loop_body_repeats():
    # `for name in names: main(name)` under `__main__`: one call site, many loops.
    in_loop = cli()
    top = in_loop.function(MODULE_CODE)
    looped = dataclasses.replace(top, references=(dataclasses.replace(top.references[0], repeated=True),))
    in_loop = dataclasses.replace(in_loop, functions=(*in_loop.functions[:-1], looped))
    found = object_reach(reach_of(in_loop, CLIENT), "_redis")
    assert found.verdict == SHARED and found.chains[0].loop.repeats
    assert found.why == "a new event loop on each run of app.cli.main (asyncio.run: a new event loop per call)"


def test_asyncio_run_in_a_loop_body_of_code_run_once_repeats():
    boot = mod(
        "app.boot",
        fn(MODULE_CODE, "init()", line=1, starts=[dataclasses.replace(start("asyncio.run", "per-call", "init", 2), repeated=True)]),
        afn("init", "client.get_redis()", line=5),
        imports=["client"],
    )
    found = object_reach(reach_of(boot, CLIENT), "_redis")
    assert found.verdict == SHARED and found.chains[0].loop.repeats


def test_a_loop_runs_the_async_function_nested_in_its_function_innermost_first():
    # `def task(): async def run(): ...; asyncio.run(run())`, and a module-level `run` that
    # the nested one hides; a method's nested function, and a method the class body does not lend.
    tasks = mod(
        "app.tasks",
        fn("task", "run()", line=1, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", "run", 3)]),
        afn("task.run", "helper()", line=5),
        fn("task.run.helper", "client.get_redis()", line=7),
        afn("run", line=9),
        fn("Worker.go", "run()", line=11, contexts=["thread"], starts=[start("asyncio.run", "per-call", "run", 12)]),
        afn("Worker.go.run", "beat()", line=14),
        afn("Worker.beat", "client.get_redis()", line=16),
        classes=[Class("Worker", (), ("go", "beat"), 10)],
        imports=["client"],
    )
    found = object_reach(reach_of(tasks, CLIENT), "_redis")
    assert found.verdict == SHARED
    (chain,) = found.chains
    assert chain.through == ("tasks.task.run", "tasks.task.run.helper", "client.get_redis")
    # `Worker.go` runs its own `run`, whose `beat()` is no name of the module (not `Worker.beat`).
    reach = reach_of(tasks, CLIENT)
    assert [loop.describe for loop in reach.loops if loop.location.line == 12] == [
        "the thread target 'go' (asyncio.run: a new event loop per call)"
    ]
    assert [c for c in object_reach(reach, "_redis").chains if c.loop.location.line == 12] == []


HELPERS = mod("app.helpers", fn("run_async", line=2, parameters=["coro"], starts=[start("asyncio.run", "per-call", "coro", 3)]))


def tasks_through_helper(*task_names, contexts=("celery-task",)):
    functions = []
    for n, task in enumerate(task_names):
        functions.append(fn(task, "helpers.run_async()", f"fetch_{task}()", line=10 * n + 1, contexts=contexts))
        functions.append(afn(f"fetch_{task}", "client.get_redis()", line=10 * n + 5))
    return mod("app.tasks", *functions, imports=["helpers", "client"])


def test_a_helper_running_its_parameter_runs_what_each_caller_passes():
    found = object_reach(reach_of(tasks_through_helper("refresh", "sync"), HELPERS, CLIENT), "_redis")
    assert found.verdict == SHARED
    assert len({c.loop.key for c in found.chains}) == 2
    described = sorted(c.loop.describe for c in found.chains)
    assert described == [
        "the Celery task 'refresh' (asyncio.run in run_async: a new event loop per call)",
        "the Celery task 'sync' (asyncio.run in run_async: a new event loop per call)",
    ]
    refresh = next(c for c in found.chains if "refresh" in c.loop.describe)
    assert refresh.loop.location.path == "/project/app/helpers.py"
    assert [s.message for s in refresh.steps] == ["runs tasks.fetch_refresh", "calls client.get_redis", "uses _redis"]


def test_a_helper_called_once_from_a_function_run_once_is_not_shared():
    tasks = tasks_through_helper("main", contexts=())
    at_import = dataclasses.replace(tasks, functions=(*tasks.functions, fn(MODULE_CODE, "main()", line=30)))
    found = object_reach(reach_of(at_import, HELPERS, CLIENT), "_redis")
    assert found.verdict == CONFINED


def test_a_function_nothing_in_the_project_calls_may_run_many_times():
    # An API or a command's entry point: its callers are not seen, and may be many.
    found = object_reach(reach_of(tasks_through_helper("main", contexts=()), HELPERS, CLIENT), "_redis")
    assert found.verdict == SHARED


def test_an_unresolved_reference_ends_its_branch():
    app = mod(
        "app.tasks",
        fn("job", "work()", line=1, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", "work", 2)]),
        afn("work", "httpx.get()", "getattr()", "handlers.missing()", "self.x.y()", line=4),
        imports=["handlers"],
    )
    reach = reach_of(app, CLIENT)
    assert object_reach(reach, "_redis").verdict == UNREACHED
    assert reach.saw_loops


def test_a_loop_start_running_a_library_function_counts_as_a_loop_seen():
    app = mod("app.cli", fn("main", "lib.main()", line=1, starts=[start("asyncio.run", "per-call", "lib.main", 2)]))
    reach = reach_of(app, CLIENT)
    assert reach.loops == () and reach.saw_loops
    assert not reach_of(CLIENT).saw_loops


def test_a_cycle_of_calls_ends_and_reaches_what_it_uses():
    app = mod(
        "app.tasks",
        fn("job", "ping()", line=1, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", "ping", 2)]),
        afn("ping", "pong()", line=4),
        afn("pong", "ping()", "client.get_redis()", line=7),
        imports=["client"],
    )
    found = object_reach(reach_of(app, CLIENT), "_redis")
    assert found.verdict == SHARED
    assert found.chains[0].through == ("tasks.ping", "tasks.pong", "client.get_redis")


def call_chain(length):
    """A task running f0, which calls f1 ... f{length-1}, the last one using a global."""
    functions = [fn("job", "f0()", line=1, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", "f0", 2)])]
    for n in range(length):
        uses = f"f{n + 1}()" if n + 1 < length else "_lock"
        functions.append(afn(f"f{n}", uses, line=10 + 3 * n))
    return mod("app.deep", *functions, holders=[holder("_lock", 5, kind="primitive", what="asyncio.Lock")])


def test_the_walk_stops_at_the_depth_bound():
    # The loop's start running f0 is the first call; MAX_DEPTH calls reach f{MAX_DEPTH-1}.
    deepest = object_reach(reach_of(call_chain(reach_module.MAX_DEPTH)), "_lock")
    assert deepest.verdict == SHARED and len(deepest.chains[0].steps) == reach_module.MAX_DEPTH + 1
    assert object_reach(reach_of(call_chain(reach_module.MAX_DEPTH + 1)), "_lock").verdict == UNREACHED


def test_the_walk_stops_at_the_visit_bound(monkeypatch):
    monkeypatch.setattr(reach_module, "MAX_VISITS", 3)
    assert object_reach(reach_of(call_chain(4)), "_lock").verdict == UNREACHED
    assert object_reach(reach_of(call_chain(3)), "_lock").verdict == SHARED


def test_a_loop_start_knows_the_shared_objects_it_reaches():
    reach = reach_of(celery_task(), ADAPTER, CLIENT)
    ((found, chain),) = reach.starts[("/project/app/tasks.py", 5)]
    assert found.holder.name == "_redis" and chain.loop.location.line == 5


# attach


def finding(path, line, code="LCK303", message="redis.asyncio.Redis kept in a global"):
    return Diagnostic(path, line, 11, line, 20, code, message)


def test_attach_adds_one_evidence_per_loop_with_its_chain():
    reach = reach_of(celery_task(), ADAPTER, CLIENT)
    (diagnostic,) = attach([finding("/project/app/client.py", 10)], reach)
    (evidence,) = diagnostic.evidence
    assert evidence.message == (
        "reached from the Celery task 'refresh' (asyncio.run: a new event loop per call) via adapter.fetch -> "
        "client.get_redis; each run is a new loop; under the prefork pool (Celery's default), the next task of"
        ' the same worker process fails with "Event loop is closed"'
    )
    assert (evidence.location.path, evidence.location.line) == ("/project/app/tasks.py", 5)
    assert [s.line for s in evidence.steps] == [5, 3, 12]
    assert diagnostic.message == "redis.asyncio.Redis kept in a global"


def test_attach_names_the_failure_of_two_loops():
    # Two kept loops, both open: the second meets the first one's live connection (the
    # catalogue's "Event loop is closed" is what a loop closed after its run gives).
    reach = reach_of(worker_module("app.tasks_a"), worker_module("app.tasks_b"), SERVICES)
    (diagnostic,) = attach([finding("/project/app/services.py", 4)], reach)
    assert len(diagnostic.evidence) == 2
    failure = '2 loops use it; the first binds it, the others fail with "attached to a different loop"'
    assert diagnostic.evidence[0].message.endswith(failure)


def test_attach_drops_a_finding_about_a_confined_object_only():
    reach = reach_of(worker_module("app.tasks_a"), SERVICES)
    kept = finding("/project/app/services.py", 9)
    assert attach([finding("/project/app/services.py", 4), kept], reach) == [kept]


def test_attach_says_no_loop_reaches_an_unreached_object_when_the_project_has_loops():
    lonely = mod("app.lonely", holders=[holder("_lock", 3, kind="primitive", what="asyncio.Lock")])
    with_loops = reach_of(celery_task(), ADAPTER, CLIENT, lonely)
    (diagnostic,) = attach([finding("/project/app/lonely.py", 3, "LCK101", "asyncio.Lock at module level")], with_loops)
    assert diagnostic.message == "asyncio.Lock at module level" + UNREACHED_NOTE
    assert diagnostic.evidence == ()
    without_loops = reach_of(lonely)
    unchanged = finding("/project/app/lonely.py", 3, "LCK101", "asyncio.Lock at module level")
    assert attach([unchanged], without_loops) == [unchanged]


def test_the_unreached_note_goes_before_the_reason_a_finding_has_no_fix():
    """The reason ends the message: the text output prints it on a line of its own."""
    lonely = mod("app.lonely", holders=[holder("_lock", 3, kind="primitive", what="asyncio.Lock")])
    with_loops = reach_of(celery_task(), ADAPTER, CLIENT, lonely)
    message = declined("asyncio.Lock at module level", "`_lock` is public")
    (diagnostic,) = attach([finding("/project/app/lonely.py", 3, "LCK101", message)], with_loops)
    assert diagnostic.message == declined("asyncio.Lock at module level" + UNREACHED_NOTE, "`_lock` is public")


def test_attach_leaves_other_rules_and_lines_alone():
    reach = reach_of(celery_task(), ADAPTER, CLIENT)
    others = [finding("/project/app/client.py", 10, "LCK999"), finding("/project/app/client.py", 11), finding("/project/app/tasks.py", 5, "LCK101")]
    assert attach(others, reach) == others


def test_attach_gives_a_loop_start_finding_the_shared_objects_its_loop_reaches():
    reach = reach_of(worker_module("app.tasks_a"), worker_module("app.tasks_b"), SERVICES)
    (diagnostic,) = attach([finding("/project/app/tasks_a.py", 6, "LCK202", "a loop kept in a global")], reach)
    (evidence,) = diagnostic.evidence
    assert evidence.message == (
        "this loop reaches redis.asyncio.Redis 'RedisClient.client' (/project/app/services.py:4), also reached by "
        "the Celery task 'job' (run_until_complete: the loop it is called on), and the second to use it fails with"
        ' "attached to a different loop"'
    )
    assert (evidence.location.path, evidence.location.line) == ("/project/app/services.py", 4)
    assert evidence.steps[-1].message == "uses self.client.get"


def test_attach_matches_paths_as_given_and_shows_them_relative(tmp_path, monkeypatch):
    (tmp_path / "real" / "app").mkdir(parents=True)
    os.symlink(tmp_path / "real", tmp_path / "link")
    for name in ("tasks", "adapter", "client"):
        (tmp_path / "real" / "app" / f"{name}.py").write_text("")

    def located(summary):
        return dataclasses.replace(summary, path=str(tmp_path / "real" / "app" / os.path.basename(summary.path)))

    reach = reach_of(located(celery_task()), located(ADAPTER), located(CLIENT))
    monkeypatch.chdir(tmp_path / "link")
    (diagnostic,) = attach([finding("app/client.py", 10)], reach)
    (evidence,) = diagnostic.evidence
    assert evidence.location.path == os.path.join("app", "tasks.py")
    assert [s.path for s in evidence.steps] == [os.path.join("app", n + ".py") for n in ("tasks", "adapter", "client")]
    monkeypatch.chdir(tmp_path / "real" / "app")
    (elsewhere,) = attach([finding(str(tmp_path / "link" / "app" / "client.py"), 10)], reach)
    assert elsewhere.evidence[0].location.path == "tasks.py"


def test_each_function_is_walked_once_per_loop(monkeypatch):
    # Walked once, ``ping`` and ``client.get_redis`` are two visits; walked again on each of
    # its calls to itself, the global would be past the bound.
    monkeypatch.setattr(reach_module, "MAX_VISITS", 2)
    app = mod(
        "app.tasks",
        fn("job", "ping()", line=1, contexts=["celery-task"], starts=[start("asyncio.run", "per-call", "ping", 2)]),
        afn("ping", "ping()", "ping()", "ping()", "client.get_redis()", line=4),
        imports=["client"],
    )
    assert object_reach(reach_of(app, CLIENT), "_redis").verdict == SHARED


def test_a_loop_kept_on_the_instance_is_keyed_by_its_attribute():
    worker = mod(
        "app.worker",
        fn("Worker.run", "self.work()", line=3, starts=[start("run_until_complete", "kept", "self.work", 4, "self.loop")]),
        afn("Worker.work", "client.get_redis()", line=6),
        holders=[holder("Worker.loop", 2, kind="loop", what="asyncio.AbstractEventLoop", how="instance-attribute")],
        classes=[Class("Worker", (), ("run", "work"), 1)],
        imports=["client"],
    )
    (chain,) = object_reach(reach_of(worker, CLIENT), "_redis").chains
    assert chain.loop.key == "holder:app.worker:Worker.loop"
    assert chain.through == ("worker.Worker.work", "client.get_redis")


def test_a_kept_loop_the_model_cannot_name_is_keyed_by_its_site():
    app = mod(
        "app.jobs",
        fn("job", "work()", line=1, starts=[start("run_until_complete", "kept", "work", 2, loop="loop")]),
        afn("work", "_lock", line=4),
        holders=[holder("_lock", 9, kind="primitive", what="asyncio.Lock")],
    )
    (chain,) = object_reach(reach_of(app), "_lock").chains
    assert chain.loop.key == "site:/project/app/jobs.py:2:12"


def test_a_loop_built_at_import_runs_once():
    boot = mod(
        "app.boot",
        fn(MODULE_CODE, "init()", line=1, starts=[start("run_until_complete", "per-call", "init", 2)]),
        afn("init", "client.get_redis()", line=5),
        imports=["client"],
    )
    (chain,) = object_reach(reach_of(boot, CLIENT), "_redis").chains
    assert chain.loop.describe == "the import of app.boot (run_until_complete: a new event loop per call)"
    assert not chain.loop.repeats


def test_attach_names_the_failure_of_a_loop_new_on_each_run_at_its_start():
    reach = reach_of(celery_task(), ADAPTER, CLIENT)
    (diagnostic,) = attach([finding("/project/app/tasks.py", 5, "LCK201", "asyncio.run in a task")], reach)
    assert diagnostic.evidence[0].message == (
        "this loop reaches redis.asyncio.Redis '_redis' (/project/app/client.py:10), each run is a new loop;"
        " under the prefork pool (Celery's default), the next task of the same worker process fails with"
        ' "Event loop is closed"'
    )


def test_attach_finds_the_loop_where_a_local_loop_was_made_and_where_a_kept_loop_is_created():
    # `loop = asyncio.new_event_loop()` on line 3, `loop.run_until_complete(fetch())` on line 5:
    # the loop rules report the first line, the start is on the second.
    hand_built = dataclasses.replace(start("run_until_complete", "per-call", "adapter.fetch", 5), loop_line=3)
    tasks = mod("app.tasks", fn("refresh", "adapter.fetch()", line=2, contexts=["celery-task"], starts=[hand_built]),
                imports=["adapter"])
    # A loop kept in the global `_loop` (created on line 2), run on line 5.
    jobs = mod(
        "app.jobs",
        fn("job", "_loop", "adapter.fetch()", line=4, starts=[start("run_until_complete", "kept", "adapter.fetch", 5, loop="_loop")]),
        holders=[holder("_loop", 2, kind="loop", what="asyncio.new_event_loop")],
        imports=["adapter"],
    )
    reach = reach_of(tasks, jobs, ADAPTER, CLIENT)
    found = attach([finding("/project/app/tasks.py", line, "LCK201") for line in (3, 4, 5)]
                   + [finding("/project/app/jobs.py", line, "LCK202") for line in (2, 5)], reach)
    assert [(d.path, d.line, len(d.evidence)) for d in found] == [
        ("/project/app/tasks.py", 3, 1), ("/project/app/tasks.py", 4, 0), ("/project/app/tasks.py", 5, 1),
        ("/project/app/jobs.py", 2, 1), ("/project/app/jobs.py", 5, 1),
    ]
    assert found[0].evidence == found[2].evidence and found[3].evidence == found[4].evidence


def test_attach_neither_drops_nor_notes_a_finding_about_a_kept_loop():
    browser = mod(
        "app.browser",
        fn("get_browser_loop", "_loop", line=5),
        afn("shot", "_loop", line=9),
        holders=[holder("_loop", 2, kind="loop", what="asyncio.AbstractEventLoop", how="lazy-global")],
    )
    caller = mod("app.jobs", fn("take", "browser.shot()", line=3, starts=[to_browser_loop("browser.shot", 4)]), imports=["browser"])
    reach = reach_of(caller, browser)
    assert object_reach(reach, "_loop").verdict == CONFINED
    (diagnostic,) = attach([finding("/project/app/browser.py", 2, "LCK402", "the loop looked up at import")], reach)
    assert diagnostic.message == "the loop looked up at import" and len(diagnostic.evidence) == 1
    unread = reach_of(mod("app.browser", holders=[holder("_loop", 2, kind="loop", what="asyncio.AbstractEventLoop")]), celery_task(), ADAPTER, CLIENT)
    assert unread.saw_loops
    assert attach([finding("/project/app/browser.py", 2, "LCK402", "looked up")], unread)[0].message == "looked up"


def loop_written(loop, function="job", line=1, contexts=()):
    runs = f"work_{function}"
    return [
        fn(function, f"{runs}()", line=line, contexts=contexts, starts=[start("run_until_complete", "kept", runs, line + 1, loop)]),
        afn(runs, "client.get_redis()", line=line + 3),
    ]


def test_the_threads_current_loop_is_one_loop_for_every_start():
    both = [*loop_written("asyncio.get_event_loop()"), *loop_written("asyncio.get_event_loop()", "other", 10)]
    jobs = mod("app.jobs", *both, imports=["client", ("asyncio", "asyncio")])
    found = object_reach(reach_of(jobs, CLIENT), "_redis")
    assert found.verdict == CONFINED and found.chains[0].loop.key == reach_module.CURRENT_LOOP


def test_a_helper_finishing_the_callers_loop_is_not_another_loop():
    # `finally: shutdown(loop)`, where `def shutdown(loop): loop.run_until_complete(
    # loop.shutdown_asyncgens())`: the helper runs the loop's own coroutine on the task's loop.
    finish = start("run_until_complete", "kept", "loop.shutdown_asyncgens", 22, loop="loop")
    task = loop_written("asyncio.get_event_loop()", contexts=["celery-task"])
    task[0] = dataclasses.replace(task[0], references=(*task[0].references, ref("shutdown()", 3)))
    jobs = mod("app.jobs", *task, fn("shutdown", line=21, parameters=["loop"], starts=[finish]), imports=["client", ("asyncio", "asyncio")])
    reach = reach_of(jobs, CLIENT)
    found = object_reach(reach, "_redis")
    assert found.verdict == CONFINED
    assert [c.loop.key_in_any_process for c in found.chains] == [reach_module.CURRENT_LOOP]


def test_a_loop_built_inline_is_a_new_loop_per_call():
    task = loop_written("asyncio.new_event_loop()", contexts=["celery-task"])
    jobs = mod("app.jobs", *task, imports=["client", ("asyncio", "asyncio")])
    (chain,) = object_reach(reach_of(jobs, CLIENT), "_redis").chains
    assert chain.loop.lifetime == "per-call" and chain.loop.repeats
    assert chain.loop.describe == "the Celery task 'job' (run_until_complete: a new event loop per call)"


def test_attach_notes_a_finding_in_a_module_the_model_never_loaded_when_the_project_has_loops():
    with_loops = reach_of(celery_task(), ADAPTER, CLIENT)
    lock = finding("/project/app/unreached.py", 3, "LCK101", "asyncio.Lock at module level")
    (noted,) = attach([lock], with_loops)
    assert noted.message == "asyncio.Lock at module level" + UNREACHED_NOTE
    # A loop looked up, in a module never loaded: about the lookup, never noted.
    lookup = finding("/project/app/unreached.py", 4, "LCK401", "get_event_loop() at import")
    assert attach([lookup], with_loops) == [lookup]
    # No loop anywhere: as before.
    assert attach([lock], reach_of(mod("app.alone"))) == [lock]


# Two module-level instances of one class, each with a client of its own, each used by a kept
# loop of its own: no client meets two loops (LCK305 and LCK105 report the attribute on its
# class's verdict, LCK306 an instance on its own).
TWO_STORES = """\
import redis.asyncio as redis


class Store:
    def __init__(self):
        self.client = redis.Redis()

    async def get(self, key):
        return await self.client.get(key)


orders = Store()
carts = Store()
"""
TWO_LOOPS = """\
import asyncio

from app.store import carts, orders

_orders_loop = asyncio.new_event_loop()
_carts_loop = asyncio.new_event_loop()


def sync_orders():
    return _orders_loop.run_until_complete(orders.get("o"))


def sync_carts():
    return _carts_loop.run_until_complete(carts.get("c"))
"""


def reach_of_sources(modules: dict[str, str]):
    from loopcheck.project.summary import summarise

    return reach_of(*(summarise(text, path[:-3].replace("/", "."), path, False, CATALOGUE) for path, text in modules.items()))


def test_instances_of_a_class_each_reached_by_one_loop_keep_their_objects_confined():
    found = object_reach(reach_of_sources({"app/store.py": TWO_STORES, "app/jobs.py": TWO_LOOPS}), "Store.client")
    assert found.verdict == CONFINED
    assert [(i.name, i.verdict, [c.loop.key for c in i.chains]) for i in found.instances] == [
        ("orders", CONFINED, ["holder:app.jobs:_orders_loop"]),
        ("carts", CONFINED, ["holder:app.jobs:_carts_loop"]),
    ]


def test_an_instance_two_loops_reach_is_shared_and_its_chains_are_the_class_s():
    crossed = TWO_LOOPS + '\n\ndef sync_orders_again():\n    return _carts_loop.run_until_complete(orders.get("o"))\n'
    found = object_reach(reach_of_sources({"app/store.py": TWO_STORES, "app/jobs.py": crossed}), "Store.client")
    assert found.verdict == SHARED and found.why == "reached by 2 event loops"
    assert sorted(c.loop.key for c in found.chains) == ["holder:app.jobs:_carts_loop", "holder:app.jobs:_orders_loop"]
    assert all(c.steps[0].message == "runs store.Store.get" for c in found.chains)
    assert [(i.name, i.verdict) for i in found.instances] == [("orders", SHARED), ("carts", CONFINED)]


def test_a_loop_started_inside_the_class_may_be_on_any_instance():
    inside = TWO_STORES.replace(
        "    async def get(self, key):",
        "    def sync_get(self, key):\n        return _own_loop.run_until_complete(self.get(key))\n\n    async def get(self, key):",
    ).replace("class Store:", "import asyncio\n\n_own_loop = asyncio.new_event_loop()\n\n\nclass Store:")
    found = object_reach(reach_of_sources({"app/store.py": inside, "app/jobs.py": TWO_LOOPS}), "Store.client")
    assert found.verdict == SHARED
    assert [(i.name, i.verdict) for i in found.instances] == [("orders", SHARED), ("carts", SHARED)]


# A web server and a Celery worker: each process imports app.state and has its own client.
STATE = """\
import redis.asyncio as aioredis

cache = aioredis.Redis()


async def refresh(page):
    return await cache.get(page)
"""
ROUTES = """\
from fastapi import FastAPI

from app.state import refresh

app = FastAPI()


@app.get("/{page}")
async def show(page):
    return await refresh(page)
"""
KEPT_LOOP_TASK = """\
import asyncio

from celery import shared_task

from app.state import refresh

_worker_loop = asyncio.new_event_loop()


@shared_task
def warm(page):
    return _worker_loop.run_until_complete(refresh(page))
"""


def test_a_server_loop_and_a_worker_s_kept_loop_are_one_loop_in_each_process():
    found = object_reach(reach_of_sources({"app/state.py": STATE, "app/web.py": ROUTES, "app/tasks.py": KEPT_LOOP_TASK}), "cache")
    assert found.verdict == CONFINED and found.why == "one loop in each of the 2 processes that use it"
    assert [(c.loop.describe, c.loop.process_kind) for c in found.chains] == [
        ("the Celery task 'warm' (run_until_complete: the loop it is called on)", "celery-worker"),
        ("the async route handler 'show' (the server's loop)", "web-server"),
    ]


def test_the_worker_s_kept_loop_alone_on_its_process_s_client_keeps_it_confined():
    """Its fix (asyncio.run() per call) would share the worker's client across loops."""
    reach = reach_of_sources({"app/state.py": STATE, "app/web.py": ROUTES, "app/tasks.py": KEPT_LOOP_TASK})
    assert reach_module.keeps_confined(object_reach(reach, "cache"))
    [(reached, chain)] = [pair for pair in reach.starts[("app/tasks.py", 12)] if pair[0].holder.name == "cache"]
    assert chain.loop.process_kind == "celery-worker"
    assert ("app/web.py", 9) not in reach.starts  # the server's loop is not what the fix would change


@pytest.mark.parametrize(
    ("tasks", "why"),
    [
        # A new loop per call in the worker: its tasks share the worker's client.
        (
            KEPT_LOOP_TASK.replace("_worker_loop.run_until_complete(", "asyncio.run("),
            "a new event loop on each run of the Celery task 'warm' (asyncio.run: a new event loop per call)",
        ),
        # Two kept loops in the worker.
        (
            KEPT_LOOP_TASK + "\n\n_other_loop = asyncio.new_event_loop()\n\n\n@shared_task\ndef cool(page):\n"
            "    return _other_loop.run_until_complete(refresh(page))\n",
            "reached by 2 event loops",
        ),
        # A kept loop whose function nothing the model sees runs: in any process, the server's too.
        (KEPT_LOOP_TASK.replace("@shared_task\n", ""), "reached by 2 event loops"),
        # A function a Celery task and a plain route (in the server's thread pool) both call
        # runs in both processes.
        (
            KEPT_LOOP_TASK + "\n\nfrom app.web import app\n\n\n@app.get('/warm/{page}')\ndef warm_now(page):\n"
            "    return warm(page)\n",
            "reached by 2 event loops",
        ),
        # A dramatiq worker's actors: an `async def` one on the middleware's loop, a plain one
        # on a loop it keeps.
        (
            "import asyncio\n\nimport dramatiq\n\nfrom app.state import refresh\n\n_loop = asyncio.new_event_loop()\n\n\n"
            "@dramatiq.actor\nasync def show(page):\n    return await refresh(page)\n\n\n"
            "@dramatiq.actor\ndef warm(page):\n    return _loop.run_until_complete(refresh(page))\n",
            "reached by 2 event loops",
        ),
    ],
)
def test_loops_of_one_process_still_share_its_client(tasks, why):
    found = object_reach(reach_of_sources({"app/state.py": STATE, "app/web.py": ROUTES, "app/tasks.py": tasks}), "cache")
    assert (found.verdict, found.why) == (SHARED, why)


@pytest.mark.parametrize(
    ("worker", "describe", "kind"),
    [
        (
            "from app.state import refresh\n\n\nasync def job(ctx, page):\n    return await refresh(page)\n\n\n"
            "class WorkerSettings:\n    functions = [job]\n",
            "the arq job 'job' (the arq worker's loop)",
            "arq-worker",
        ),
        (
            "import dramatiq\n\nfrom app.state import refresh\n\n\n@dramatiq.actor\nasync def job(page):\n"
            "    return await refresh(page)\n",
            "the dramatiq actor 'job' (the AsyncIO middleware's loop, one per worker process)",
            "dramatiq-worker",
        ),
    ],
)
def test_a_worker_s_loop_and_the_server_s_are_in_different_processes(worker, describe, kind):
    modules = {"app/state.py": STATE, "app/web.py": ROUTES, "app/worker.py": worker}
    found = object_reach(reach_of_sources(modules), "cache")
    assert (found.verdict, found.why) == (CONFINED, "one loop in each of the 2 processes that use it")
    assert sorted((c.loop.describe, c.loop.process_kind) for c in found.chains) == sorted(
        [(describe, kind), ("the async route handler 'show' (the server's loop)", "web-server")]
    )


COMMANDS = """\
import asyncio

import typer

from app.state import refresh

cli = typer.Typer()


@cli.command()
def warm(page: str) -> None:
    asyncio.run(refresh(page))


@cli.command()
def report(page: str) -> None:
    asyncio.run(refresh(page))
"""


def test_each_command_of_a_command_line_program_is_a_process_with_one_loop():
    found = object_reach(reach_of_sources({"app/state.py": STATE, "app/cli.py": COMMANDS}), "cache")
    assert (found.verdict, found.why) == (CONFINED, "one loop in each of the 2 processes that use it")
    assert sorted((c.loop.describe, c.loop.process_kind) for c in found.chains) == [
        ("the command-line command 'report' (asyncio.run: a new event loop per call)", "own:app.cli.report"),
        ("the command-line command 'warm' (asyncio.run: a new event loop per call)", "own:app.cli.warm"),
    ]


@pytest.mark.parametrize(
    ("commands", "why"),
    [
        # A command that runs a loop per item shares the client within its one process.
        (
            COMMANDS.replace("    asyncio.run(refresh(page))\n\n\n@cli.command()", "    for p in page.split():\n"
            "        asyncio.run(refresh(p))\n\n\n@cli.command()"),
            "a new event loop on each run of the command-line command 'warm' (asyncio.run: a new event loop per call)",
        ),
        # Functions no command-line program runs may run many times in one process.
        (COMMANDS.replace("@cli.command()\n", ""), "reached by 2 event loops"),
    ],
)
def test_a_command_line_program_s_loops_that_may_meet_share_its_client(commands, why):
    found = object_reach(reach_of_sources({"app/state.py": STATE, "app/cli.py": commands}), "cache")
    assert (found.verdict, found.why) == (SHARED, why)


DEPENDENCY_DB = """\
import asyncio

refresh_lock = asyncio.Lock()


async def get_db():
    async with refresh_lock:
        yield None
"""
DEPENDENCY_ROUTES = """\
from typing import Annotated

from fastapi import Depends, FastAPI

from app.db import get_db

app = FastAPI()


@app.get("/{page}")
async def show(page, db: Annotated[object, Depends(get_db)]):
    return page
"""


@pytest.mark.parametrize("routes", [DEPENDENCY_ROUTES, DEPENDENCY_ROUTES.replace(
    "db: Annotated[object, Depends(get_db)]", "db=Depends(get_db)")])
def test_a_fastapi_dependency_runs_on_the_server_s_loop(routes):
    found = object_reach(reach_of_sources({"app/db.py": DEPENDENCY_DB, "app/web.py": routes}), "refresh_lock")
    assert found.verdict == CONFINED
    assert [c.loop.describe for c in found.chains] == ["the FastAPI dependency 'get_db' (the server's loop)"]


LAZY_ENGINE = """\
from sqlalchemy.ext.asyncio import create_async_engine


class Engine:
    def __init__(self):
        self._engine = create_async_engine("postgresql+asyncpg://db/app", pool_size=5)

    async def count(self):
        return self._engine


_engine = None


def get_engine():
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine
"""
OWN_ENGINE_TESTS = """\
import asyncio

from app.engine import Engine


async def _count():
    engine = Engine()
    return await engine.count()


def test_one():
    asyncio.run(_count())


def test_two():
    asyncio.run(_count())
"""


@pytest.mark.parametrize(
    "engine_module",
    [
        LAZY_ENGINE,
        # A module-level instance: the tests' own two instances were taken for one both loops share.
        LAZY_ENGINE[: LAZY_ENGINE.index("_engine = None")] + "engine = Engine()\n",
    ],
)
def test_loops_that_use_instances_they_make_themselves_are_no_evidence_about_a_kept_one(engine_module):
    """Tests making their own Engine() say nothing of the one the module keeps: the finding on
    its attribute says no loop was seen reaching it, rather than naming them."""
    reach = reach_of_sources({"app/engine.py": engine_module, "tests/test_engine.py": OWN_ENGINE_TESTS})
    found = object_reach(reach, "Engine._engine")
    assert (found.verdict, found.chains) == (UNREACHED, ())
    assert [i.verdict for i in found.instances] in ([], [UNREACHED])
    (diagnostic,) = attach([finding("app/engine.py", 6, "LCK305", "AsyncEngine kept in `Engine._engine`")], reach)
    assert (diagnostic.evidence, diagnostic.message) == ((), "AsyncEngine kept in `Engine._engine`" + UNREACHED_NOTE)


GETTER_JOBS = """\
import asyncio

from app.engine import get_engine


async def _count():
    return await get_engine().count()


async def _count_through_a_local():
    engine = get_engine()
    return await engine.count()


def count_job():
    return asyncio.run(_count())


def count_through_a_local_job():
    return asyncio.run(_count_through_a_local())
"""


def test_a_getter_s_lazily_kept_instance_is_the_one_its_callers_share():
    modules = {"app/engine.py": LAZY_ENGINE, "app/jobs.py": GETTER_JOBS, "tests/test_engine.py": OWN_ENGINE_TESTS}
    found = object_reach(reach_of_sources(modules), "Engine._engine")
    assert (found.verdict, found.why) == (SHARED, "reached by 2 event loops")
    assert sorted(c.loop.describe for c in found.chains) == [
        "app.jobs.count_job (asyncio.run: a new event loop per call)",
        "app.jobs.count_through_a_local_job (asyncio.run: a new event loop per call)",
    ]
    assert [(i.module, i.name, i.verdict) for i in found.instances] == [("app.engine", "_engine", SHARED)]


def test_an_lck305_finding_on_an_attribute_each_instance_keeps_for_one_loop_is_dropped():
    reach = reach_of_sources({"app/store.py": TWO_STORES, "app/jobs.py": TWO_LOOPS})
    on_attribute = finding("app/store.py", 6, "LCK305", "redis.asyncio.Redis kept in `Store.client`")
    assert attach([on_attribute], reach) == []
    (kept,) = attach([on_attribute], reach, keep_confined=True)
    assert [e.message.rpartition("; ")[2] for e in kept.evidence] == [
        "alone on it (each module-level instance of its class is reached by one event loop at most): harmless in this program"
    ] * 2


# -- contexts the reach decides across modules ---------------------------------------------------


def summarised(sources: dict[str, str], root: str = "/project") -> list[ModuleSummary]:
    """The summaries of ``sources`` (module name -> text), laid out as packages under ``root``."""
    from loopcheck.project.summary import summarise

    return [
        summarise(text, name, f"{root}/{name.replace('.', '/')}.py", False, CATALOGUE) for name, text in sources.items()
    ]


CACHE_MODULE = 'from redis.asyncio import Redis\n\ncache = Redis()\n'
ROUTED_VISITS = """
from app.db import cache
from app.routing import Router

SYSTEM = Router(prefix="/system")


@SYSTEM.get("/visits")
async def visits():
    return await cache.incr("visits")
"""
# Each: the router module's text, and whether the routes' handler runs on the server's loop.
ROUTERS = {
    "a subclass of FastAPI's router": ("from fastapi import APIRouter\n\nclass Router(APIRouter):\n    pass\n", True),
    "a subclass of a subclass": (
        "from fastapi.routing import APIRouter as Base\n\nclass Mid(Base):\n    pass\n\nclass Router(Mid):\n    pass\n",
        True,
    ),
    "a class of its own with a get method": ("class Router:\n    def get(self, path):\n        return lambda f: f\n", False),
    "a subclass of a router that never serves": ("from flask import Blueprint\n\nclass Router(Blueprint):\n    pass\n", False),
}


@pytest.mark.parametrize("case", sorted(ROUTERS))
def test_routes_on_a_router_of_a_project_class_run_on_the_server_loop_when_it_derives_from_one(case):
    routing, served = ROUTERS[case]
    model = ProjectModel(summarised({"app.db": CACHE_MODULE, "app.routing": routing, "app.systems": ROUTED_VISITS}))
    found = object_reach(compute_reach(model, CATALOGUE), "cache")
    if served:
        assert found.verdict == CONFINED
        assert [c.loop.describe for c in found.chains] == ["the async route handler 'visits' (the server's loop)"]
    else:
        assert found.verdict == UNREACHED and not found.chains


TWO_TESTS = """
import pytest

from app.db import cache


@pytest.mark.asyncio
async def test_one():
    await cache.incr("one")


@pytest.mark.asyncio
async def test_two():
    await cache.incr("two")
"""


def fixture_module(scope: str) -> str:
    return f'import asyncio\nimport pytest\n\n@pytest.fixture(scope="{scope}")\ndef event_loop():\n    yield asyncio.new_event_loop()\n'


# Each: the conftest modules (name -> the event_loop fixture's scope), and the loop the tests of
# tests.api.test_visits share (None: a loop per test).
FIXTURES = {
    "a session fixture above": ({"tests.conftest": "session"}, "the session's loop, by the session-scoped event_loop fixture of tests.conftest"),
    "a module fixture beside": ({"tests.api.conftest": "module"}, "the module's loop, by the module-scoped event_loop fixture of tests.api.conftest"),
    "the nearest fixture wins": ({"tests.conftest": "session", "tests.api.conftest": "function"}, None),
    "a fixture per class": ({"tests.conftest": "class"}, None),
    "a fixture in another directory": ({"tests.other.conftest": "session"}, None),
    "the test module's own fixture wins": ({"tests.conftest": "session", "tests.api.test_visits": "function"}, None),
}


@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_pytest_asyncio_tests_run_on_the_loop_of_the_event_loop_fixture_they_get(case):
    conftests, shared = FIXTURES[case]
    sources = {"app.db": CACHE_MODULE, "tests.api.test_visits": TWO_TESTS}
    for name, scope in conftests.items():
        sources[name] = sources.get(name, "") + fixture_module(scope)
    found = object_reach(compute_reach(ProjectModel(summarised(sources)), CATALOGUE), "cache")
    loops = {c.loop.describe.partition(" (")[2].rstrip(")") for c in found.chains}
    if shared:
        assert (found.verdict, loops) == (CONFINED, {shared})
    else:
        assert (found.verdict, loops) == (SHARED, {"a new event loop per test"})


def test_the_configured_default_loop_scope_wins_over_an_event_loop_fixture(tmp_path):
    from loopcheck.project.pytest_config import PytestAsyncio

    sources = {"app.db": CACHE_MODULE, "tests.api.test_visits": TWO_TESTS, "tests.conftest": fixture_module("session")}
    configured = PytestAsyncio(tmp_path / "pytest.ini", "module")
    model = ProjectModel(summarised(sources), pytest_asyncio=lambda path: configured)
    found = object_reach(compute_reach(model, CATALOGUE), "cache")
    loops = {c.loop.describe.partition(" (")[2].rstrip(")") for c in found.chains}
    assert (found.verdict, loops) == (CONFINED, {'the module\'s loop, by asyncio_default_test_loop_scope = "module" in pytest.ini'})
