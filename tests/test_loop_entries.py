"""The loop entry points of worker and test frameworks: dramatiq actors, arq jobs, APScheduler's
AsyncIOScheduler jobs, pytest-asyncio tests and Django's URL patterns. Each is seen by the per-file
analysis and by the project model alike, and a project's evidence names the loop it runs on."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue, CatalogueError, celery_pools, context_runs, context_seeds, tomllib
from loopcheck.project.selection import SeedTest
from loopcheck.project.summary import summarise
from tests.helpers import all_rules_linter, check_text, write
from tests.test_analysis import analyse, contexts_of
from tests.test_project_run import loopcheck

# -- where each function runs: the per-file analysis and the project summary agree ----------

ENTRIES = """
import asyncio

import dramatiq
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler
from arq import cron, func

scheduler = AsyncIOScheduler()
background = BackgroundScheduler()
pytestmark = pytest.mark.asyncio


@dramatiq.actor(queue_name="mail")
def send(to):
    pass


@dramatiq.actor
async def notify(to):
    pass


def plain(to):
    pass


plain_actor = dramatiq.actor(plain)


class Poll(dramatiq.GenericActor):
    def perform(self, url):
        pass


async def download(ctx, url):
    pass


async def nightly(ctx):
    pass


async def startup(ctx):
    pass


class WorkerSettings:
    functions = [func(download, name="dl")]
    cron_jobs = [cron(nightly, hour=3)]
    on_startup = startup


async def refresh():
    pass


def compact():
    pass


scheduler.add_job(refresh, "interval", seconds=60)
scheduler.add_job(compact, "interval", seconds=60)


@background.scheduled_job("interval", seconds=60)
async def never_awaited():
    pass


async def test_marked():
    pass


@pytest.mark.asyncio(loop_scope="function")
async def test_decorated():
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_scoped():
    pass


@pytest.mark.asyncio(scope="session")
async def test_session_scoped():
    pass


async def helper():
    pass
"""

EXPECTED = {
    "send": {"dramatiq-actor"},
    "notify": {"coroutine", "dramatiq-async-actor"},
    "plain": {"dramatiq-actor"},
    "perform": {"dramatiq-actor"},
    "download": {"coroutine", "arq-job"},
    "nightly": {"coroutine", "arq-job"},
    "startup": {"coroutine", "arq-job"},
    # An AsyncIOScheduler awaits an `async def` job on its loop and runs a plain one in the
    # loop's default executor.
    "refresh": {"coroutine", "loop-scheduler-job"},
    "compact": {"scheduler-job"},
    "never_awaited": {"coroutine", "scheduler-job"},
    "test_marked": {"coroutine", "asyncio-test"},
    "test_decorated": {"coroutine", "asyncio-function-test"},
    "test_module_scoped": {"coroutine", "asyncio-module-test"},
    "test_session_scoped": {"coroutine", "asyncio-session-test"},
    "helper": {"coroutine"},
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_each_entry_point_gives_its_function_its_context(name, expected):
    # The per-file analysis says where a coroutine nobody in the module runs is awaited: unknown.
    assert contexts_of(analyse(ENTRIES), name) - {"unknown"} == expected
    functions = summarise(textwrap.dedent(ENTRIES), "app.m", "m.py", False, Catalogue.load()).functions
    (found,) = [f for f in functions if f.name.rpartition(".")[2] == name]
    assert set(found.contexts) == expected - {"coroutine"}


def test_callables_of_other_modules_are_recorded_only_for_contexts_that_run_them_on_a_loop():
    source = """
    import threading

    from django.urls import path

    from app import jobs, views

    urlpatterns = [path("x/", views.index)]
    threading.Thread(target=jobs.work).start()
    """
    found = summarise(textwrap.dedent(source), "app.urls", "urls.py", False, Catalogue.load())
    assert found.handed == (("views.index", "server"),)


def test_get_event_loop_in_a_dramatiq_actor_names_the_worker_thread():
    source = textwrap.dedent("""\
        import asyncio

        import dramatiq


        @dramatiq.actor
        def poll():
            loop = asyncio.get_event_loop()
            loop.call_soon(print, "polling")
        """)
    (finding,) = [d for d in check_text(all_rules_linter(), source) if d.code == "LCK402"]
    assert "runs as a dramatiq actor (on a worker thread)" in finding.message, finding.message


def test_a_loop_a_dramatiq_actor_keeps_is_named_with_the_actor_and_its_worker_thread():
    source = textwrap.dedent("""\
        import asyncio

        import dramatiq

        _loop = asyncio.new_event_loop()


        async def work():
            await asyncio.sleep(0)


        @dramatiq.actor
        def poll():
            _loop.run_until_complete(work())
        """)
    found = [d.message for d in check_text(all_rules_linter(), source) if d.code == "LCK202" and d.line == 5]
    assert found == [
        "event loop kept in the global `_loop` and reused by run_until_complete() (line 14), by `poll`, which runs"
        " as a dramatiq actor (on a worker thread): a second thread fails with 'This event loop is already running';"
        " run each call with asyncio.run()"
    ]


def test_a_module_is_an_entry_module_for_a_url_pattern_it_calls_not_for_words_of_its_names():
    seeds = SeedTest(Catalogue.load())
    urls = 'from django.urls import path\n\nfrom app import views\n\nurlpatterns = [path("x/", views.index)]\n'
    assert seeds.flags(urls).serves
    # `django`, `urls` and the word `path` are in most modules of a Django project.
    helpers = "import os\n\nfrom django.urls import reverse\n\nROOT = os.path.dirname(reverse('home'))\n"
    assert not seeds.flags(helpers).entry
    # Every part of the module a name is imported from is written where it is imported.
    assert not seeds.flags("import django\n\nurlpatterns = [path('x/', index)]\n").serves


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("import asyncio\n\nasyncio.run(main())\n", True),
        # a module's name bound otherwise than by an import, written as a string
        ("import importlib\n\nasyncio = importlib.import_module('asyncio')\nasyncio.run(main())\n", True),
        ("import lazy_loader\n\nasyncio = lazy_loader.load(\"asyncio\")\nasyncio.run(main())\n", True),
        # named in a comment only: nothing binds it
        ("# no asyncio here\nrun(main())\n", False),
    ],
)
def test_a_module_is_an_entry_module_where_it_binds_the_module_of_a_loop_start(text, starts):
    assert SeedTest(Catalogue.load()).flags(text).starts is starts


# -- the catalogue refuses what it cannot read ----------------------------------------------

BAD_SEEDS = [
    ('[[seed]]\ncontext = "arq-job"\nsync-only = true\nasync-only = true\ndecorator = ["x"]\n',
     "contexts.toml: [[seed]] #1 (context 'arq-job'): 'sync-only' and 'async-only' exclude each other"),
    ('[[seed]]\ncontext = "arq-job"\nclass-attribute = ["functions"]\n',
     "contexts.toml: [[seed]] #1 (context 'arq-job'): 'class-attribute' and 'class-name' go together"),
    ('[[seed]]\ncontext = "asyncio-test"\nmodule-variable = "pytestmark"\n',
     "contexts.toml: [[seed]] #1 (context 'asyncio-test'): a 'module-variable' needs the 'decorator'"),
    ('[[seed]]\ncontext = "asyncio-test"\ndecorator = ["pytest.mark.asyncio"]\nname-prefix = "test"\n',
     "contexts.toml: [[seed]] #1 (context 'asyncio-test'): a 'name-prefix' needs a 'module-variable'"),
    ('[[seed]]\ncontext = "arq-job"\nwrapper = "arq.func"\n',
     "contexts.toml: [[seed]] #1 (context 'arq-job'): key 'wrapper' must be a list of strings"),
    ('[[seed]]\ncontext = "asyncio-test"\ndecorator = ["pytest.mark.asyncio"]\nkeyword-value = ["loop_scope"]\n',
     "contexts.toml: [[seed]] #1 (context 'asyncio-test'): key 'keyword-value': 'loop_scope' is not name=value"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SEEDS, ids=[m for _, m in BAD_SEEDS])
def test_a_wrong_entry_seed_is_refused_when_the_catalogue_loads(text, message):
    with pytest.raises(CatalogueError) as raised:
        context_seeds(tomllib.loads(text))
    assert str(raised.value).startswith(message), str(raised.value)


def entries_data() -> dict:
    return tomllib.loads(Path(__file__).parent.parent.joinpath("loopcheck/data/entries.toml").read_text("utf-8"))


def test_a_context_loop_is_checked_and_described_when_the_catalogue_loads():
    data = entries_data()
    assert context_runs(data)["asyncio-test"].loop_describe == "a new event loop per test"
    assert context_runs(data)["lifespan"].loop_describe == "the server's loop"
    data["context"]["thread"]["loop-describe"] = "a loop"
    with pytest.raises(CatalogueError, match=r"^entries.toml: \[context.thread\]: a 'loop-describe' needs a 'loop'"):
        context_runs(data)
    data = entries_data()
    data["context"]["arq-job"]["loop"] = "worker"
    with pytest.raises(CatalogueError, match=r"^entries.toml: \[context.arq-job\]: key 'loop' must be one of"):
        context_runs(data)


def test_the_celery_pools_are_checked_when_the_catalogue_loads():
    pools = celery_pools(entries_data())
    assert pools["asyncio"].loop == "server" and pools["threads"].loop == "none"
    for change, message in [
        (lambda d: d["celery-pool"]["solo"].pop("fails"), r"\[celery-pool.solo\]: no key 'fails'"),
        (lambda d: d["celery-pool"]["solo"].update(loop="thread"), r"\[celery-pool.solo\]: key 'loop' must be one of"),
        (lambda d: d["celery-pool"]["asyncio"].pop("loop-describe"), r"\[celery-pool.asyncio\]: a 'loop' other than"),
        (lambda d: d["celery-pool"]["solo"].update(faills="x"), r"\[celery-pool.solo\]: unknown key 'faills'"),
        (lambda d: d["celery-pool"].pop("prefork"), r"no \[celery-pool.prefork\] table \(Celery's default pool\)"),
    ]:
        data = entries_data()
        change(data)
        with pytest.raises(CatalogueError, match=message):
            celery_pools(data)
    with pytest.raises(CatalogueError, match=r"^unknown Celery pool 'processes' \(known: prefork, "):
        Catalogue.load((), "processes")


# -- a project: which loop the evidence names, and its verdict ------------------------------

CLIENTS = """\
import redis.asyncio as redis

client = redis.Redis()


async def fetch(key):
    return await client.get(key)
"""


def evidence(tmp_path: Path, files: dict[str, str], *options: str) -> list[str]:
    """The evidence of the one finding of the project ``files`` (app/clients.py's client)."""
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "clients.py", CLIENTS)
    for path, text in files.items():
        write(tmp_path / path, textwrap.dedent(text))
    found = json.loads(loopcheck("--output-format", "json", *options, ".", cwd=tmp_path).stdout)
    (finding,) = found
    assert (finding["filename"], finding["location"]["row"]) == ("app/clients.py", 3)
    return [e["message"] for e in finding["evidence"]]


def test_a_dramatiq_actor_that_runs_asyncio_run_makes_a_new_loop_per_message(tmp_path):
    actors = """
    import asyncio

    import dramatiq

    from app.clients import fetch


    @dramatiq.actor
    def refresh(key):
        asyncio.run(fetch(key))


    async def _warm(key):
        await fetch(key)


    def warm(key):
        asyncio.run(_warm(key))


    warm_actor = dramatiq.actor(warm)
    """
    assert evidence(tmp_path, {"app/actors.py": actors}) == [
        "reached from the dramatiq actor 'refresh' (asyncio.run: a new event loop per call) via clients.fetch;"
        ' 2 loops use it; the first binds it, the others fail with "Event loop is closed"',
        "reached from the dramatiq actor 'warm' (asyncio.run: a new event loop per call) via actors._warm ->"
        ' clients.fetch; 2 loops use it; the first binds it, the others fail with "Event loop is closed"',
    ]


def test_a_dramatiq_async_actor_runs_on_the_one_loop_of_the_asyncio_middleware(tmp_path):
    actors = """
    import dramatiq

    from app.clients import fetch


    @dramatiq.actor(max_retries=0)
    async def refresh(key):
        await fetch(key)
    """
    assert evidence(tmp_path, {"app/actors.py": actors}, "--include-confined") == [
        "reached from the dramatiq actor 'refresh' (the AsyncIO middleware's loop, one per worker process)"
        " via actors.refresh -> clients.fetch; the only loop that uses it: harmless in this program",
    ]


ARQ_WORKER = """
from arq import func

from app.jobs import download


class WorkerSettings:
    functions = [func(download, name="dl")]
"""


def test_arq_jobs_listed_in_another_module_run_on_the_workers_loop(tmp_path):
    jobs = """
    from app.clients import fetch


    async def download(ctx, key):
        return await fetch(key)
    """
    assert evidence(tmp_path, {"app/jobs.py": jobs, "app/worker.py": ARQ_WORKER}, "--include-confined") == [
        "reached from the arq job 'download' (the arq worker's loop) via jobs.download -> clients.fetch;"
        " the only loop that uses it: harmless in this program",
    ]


def test_an_arq_job_and_a_script_running_asyncio_run_share_the_client(tmp_path):
    jobs = """
    import asyncio

    from app.clients import fetch


    async def download(ctx, key):
        return await fetch(key)


    def main():
        asyncio.run(fetch("warm-up"))
    """
    found = evidence(tmp_path, {"app/jobs.py": jobs, "app/worker.py": ARQ_WORKER})
    assert [message.split(" via ")[0] for message in found] == [
        "reached from the arq job 'download' (the arq worker's loop)",
        "reached from app.jobs.main (asyncio.run: a new event loop per call)",
    ]
    assert found[0].endswith('2 loops use it; the first binds it, the others fail with "Event loop is closed"')


def test_an_asyncioscheduler_job_runs_on_the_schedulers_loop(tmp_path):
    jobs = """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from app.clients import fetch

    scheduler = AsyncIOScheduler()


    async def refresh():
        await fetch("k")


    scheduler.add_job(refresh, "interval", seconds=60)
    """
    assert evidence(tmp_path, {"app/jobs.py": jobs}, "--include-confined") == [
        "reached from the AsyncIOScheduler job 'refresh' (the scheduler's loop, the application's) via"
        " jobs.refresh -> clients.fetch; the only loop that uses it: harmless in this program",
    ]


def test_a_background_scheduler_job_running_asyncio_run_makes_a_new_loop_per_run(tmp_path):
    jobs = """
    import asyncio

    from apscheduler.schedulers.background import BackgroundScheduler

    from app.clients import fetch

    scheduler = BackgroundScheduler()


    @scheduler.scheduled_job("interval", seconds=60)
    def refresh():
        asyncio.run(fetch("k"))
    """
    assert evidence(tmp_path, {"app/jobs.py": jobs}) == [
        "reached from the scheduler job 'refresh' (asyncio.run: a new event loop per call) via clients.fetch;"
        ' each run is a new loop; a later run fails with "Event loop is closed"',
    ]


def test_two_pytest_asyncio_tests_are_two_loops(tmp_path):
    tests = """
    import pytest

    from app.clients import fetch


    @pytest.mark.asyncio
    async def test_one():
        await fetch("a")


    @pytest.mark.asyncio
    async def test_two():
        await fetch("b")
    """
    assert evidence(tmp_path, {"app/test_clients.py": tests}) == [
        "reached from the pytest-asyncio test 'test_one' (a new event loop per test) via test_clients.test_one ->"
        ' clients.fetch; 2 loops use it; the first binds it, the others fail with "Event loop is closed"',
        "reached from the pytest-asyncio test 'test_two' (a new event loop per test) via test_clients.test_two ->"
        ' clients.fetch; 2 loops use it; the first binds it, the others fail with "Event loop is closed"',
    ]


def test_pytestmark_marks_the_tests_of_its_module_only(tmp_path):
    tests = """
    import pytest

    from app.clients import fetch

    pytestmark = [pytest.mark.asyncio]


    async def test_one():
        await fetch("a")


    async def helper():
        await fetch("b")
    """
    assert evidence(tmp_path, {"app/test_clients.py": tests}, "--include-confined") == [
        "reached from the pytest-asyncio test 'test_one' (a new event loop per test) via test_clients.test_one ->"
        " clients.fetch; the only loop that uses it: harmless in this program",
    ]


DJANGO_VIEWS = """
from django.http import HttpResponse

from app.clients import fetch


async def my_view(request):
    return HttpResponse(await fetch("k"))
"""
DJANGO_URLS = """
from django.urls import path

from app import views

urlpatterns = [path("x/", views.my_view)]
"""


def test_a_django_async_view_in_urlpatterns_runs_on_the_server_loop(tmp_path):
    files = {"app/views.py": DJANGO_VIEWS, "app/urls.py": DJANGO_URLS}
    assert evidence(tmp_path, files, "--include-confined") == [
        "reached from the async route handler 'my_view' (the server's loop) via views.my_view -> clients.fetch;"
        " the only loop that uses it: harmless in this program",
    ]


def test_a_file_checked_alone_sees_the_django_url_patterns_of_its_project(tmp_path):
    files = {"app/views.py": DJANGO_VIEWS, "app/urls.py": DJANGO_URLS}
    whole = evidence(tmp_path, files, "--include-confined")
    piped = loopcheck(
        "--output-format", "json", "--include-confined", "--stdin-filename", "app/clients.py", "-",
        cwd=tmp_path, stdin=CLIENTS,
    )
    (finding,) = json.loads(piped.stdout)
    assert [e["message"] for e in finding["evidence"]] == whole != []


def test_a_django_async_view_and_a_celery_task_use_their_own_process_s_client(tmp_path):
    """The server's process and the worker's each have the client: the task's new loop per call
    shares the worker's, and the evidence is that process's."""
    tasks = """
    import asyncio

    from celery import shared_task

    from app.clients import fetch


    @shared_task
    def refresh():
        asyncio.run(fetch("k"))
    """
    files = {"app/views.py": DJANGO_VIEWS, "app/urls.py": DJANGO_URLS, "app/tasks.py": tasks}
    assert [message.split(" via ")[0] for message in evidence(tmp_path, files)] == [
        "reached from the Celery task 'refresh' (asyncio.run: a new event loop per call)",
    ]


def test_async_to_sync_in_a_view_and_asyncio_run_in_a_sync_to_async_job_are_new_loops_per_call(tmp_path):
    views = """
    from asgiref.sync import async_to_sync

    from app.clients import fetch


    def report(request):
        return async_to_sync(fetch)(request)
    """
    exports = """
    import asyncio

    from asgiref.sync import sync_to_async

    from app import clients


    def build(key):
        return asyncio.run(clients.fetch(key))


    async def export(key):
        return await sync_to_async(build)(key)
    """
    assert evidence(tmp_path, {"app/views.py": views, "app/exports.py": exports}) == [
        "reached from the executor job 'build' (asyncio.run: a new event loop per call) via clients.fetch;"
        ' 2 loops use it; the first binds it, the others fail with "Event loop is closed"',
        "reached from app.views.report (async_to_sync: a new event loop per call) via clients.fetch;"
        ' 2 loops use it; the first binds it, the others fail with "Event loop is closed"',
    ]


def test_a_client_only_async_to_sync_reaches_is_still_shared_by_its_calls(tmp_path):
    # one call site, but each call is a new loop: not confined
    views = """
    from asgiref.sync import async_to_sync

    from app import clients


    def report(request):
        return async_to_sync(clients.fetch)(request)
    """
    assert evidence(tmp_path, {"app/views.py": views}) == [
        "reached from app.views.report (async_to_sync: a new event loop per call) via clients.fetch;"
        ' each run is a new loop; a later run fails with "Event loop is closed"',
    ]


# -- Celery's worker pool: which one makes a task's loop fail, and the asyncio pool's one loop -

CELERY_TASK = """
import asyncio

from celery import shared_task

from app.clients import fetch


@shared_task
def refresh():
    asyncio.run(fetch("k"))
"""
ASYNC_CELERY_TASK = """
from celery import shared_task

from app.clients import fetch


@shared_task
async def refresh():
    await fetch("k")
"""
PROJECT = '[project]\nname = "app"\nversion = "0"\n'
CELERY_APP = 'from celery import Celery\n\napp = Celery("app")\n'


@pytest.mark.parametrize(
    ("files", "under"),
    [
        ({}, "under the prefork pool (Celery's default), the next task of the same worker process"),
        (
            # a configuration module nothing imports (app.config_from_object("app.celeryconfig"))
            {"app/celeryconfig.py": 'broker_url = "redis://"\nworker_pool = "threads"\n'},
            "under the threads pool (app.celeryconfig sets it), a task running beside it in another of the"
            " worker's threads, or a later one,",
        ),
        (
            {"app/celery.py": CELERY_APP + 'app.conf.update(broker_url="redis://", worker_pool="gevent")\n'},
            "under the gevent pool (app.celery sets it), a task running beside it in another of the worker's"
            " greenlets, or a later one,",
        ),
        (
            {
                "app/celery.py": CELERY_APP + 'app.conf.worker_pool = "threads"\n',
                "pyproject.toml": PROJECT + '[tool.loopcheck]\ncelery-pool = "solo"\n',
            },
            "under the solo pool, the worker's next task",
        ),
    ],
    ids=["default", "config-module", "conf-update", "setting-over-code"],
)
def test_a_celery_tasks_new_loop_per_call_names_the_pool_that_makes_the_next_task_fail(tmp_path, files, under):
    assert evidence(tmp_path, {"app/tasks.py": CELERY_TASK, **files}) == [
        "reached from the Celery task 'refresh' (asyncio.run: a new event loop per call) via clients.fetch;"
        f' each run is a new loop; {under} fails with "Event loop is closed"'
    ]


def test_under_the_asyncio_pool_an_async_task_runs_on_the_worker_processs_one_loop(tmp_path):
    asyncio_pool = PROJECT + '[tool.loopcheck]\ncelery-pool = "asyncio"\n'
    files = {"app/tasks.py": ASYNC_CELERY_TASK, "pyproject.toml": asyncio_pool}
    assert evidence(tmp_path, files, "--include-confined") == [
        "reached from the Celery task 'refresh' (the asyncio pool's loop, one per worker process) via"
        " tasks.refresh -> clients.fetch; the only loop that uses it: harmless in this program",
    ]
    # confined: no finding without --include-confined
    assert json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout) == []
    # prefork, the default, does not run an `async def` task at all: no loop reaches the client
    files["pyproject.toml"] = PROJECT
    assert evidence(tmp_path, files) == []


def test_under_the_asyncio_pool_a_plain_task_runs_on_no_loop(tmp_path):
    plain = """
    from celery import shared_task

    from app import clients


    @shared_task
    def reset():
        clients.client.connection_pool.reset()
    """
    files = {"app/tasks.py": plain, "pyproject.toml": PROJECT + '[tool.loopcheck]\ncelery-pool = "asyncio"\n'}
    assert evidence(tmp_path, files, "--include-confined") == []
    # nor is it counted as a loop the project has (which would note the client as unreached)
    (finding,) = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert "no event loop" not in finding["message"]


def test_under_the_asyncio_pool_a_plain_task_running_asyncio_run_is_a_second_loop(tmp_path):
    plain = CELERY_TASK.replace("def refresh", "def warm")
    files = {
        "app/tasks.py": ASYNC_CELERY_TASK,
        "app/warm.py": plain,
        "pyproject.toml": PROJECT + '[tool.loopcheck]\ncelery-pool = "asyncio"\n',
    }
    assert [message.split(" via ")[0] for message in evidence(tmp_path, files)] == [
        "reached from the Celery task 'refresh' (the asyncio pool's loop, one per worker process)",
        "reached from the Celery task 'warm' (asyncio.run: a new event loop per call)",
    ]


SCOPED_TESTS = """
import pytest

from app.clients import fetch

pytestmark = pytest.mark.asyncio(loop_scope="{scope}")


async def test_{name}_one():
    await fetch("a")


async def test_{name}_two():
    await fetch("b")
"""


def test_tests_of_one_module_with_a_module_loop_scope_are_one_loop(tmp_path):
    files = {"app/test_a.py": SCOPED_TESTS.format(scope="module", name="a")}
    assert [m.split(" via ")[0] for m in evidence(tmp_path, files, "--include-confined")] == [
        "reached from the pytest-asyncio test 'test_a_one' (the module's loop, by its loop_scope)",
    ]


def test_tests_of_two_modules_with_a_module_loop_scope_are_two_loops(tmp_path):
    files = {
        "app/test_a.py": SCOPED_TESTS.format(scope="module", name="a"),
        "app/test_b.py": SCOPED_TESTS.format(scope="module", name="b"),
    }
    found = evidence(tmp_path, files)
    assert [m.split(" via ")[0] for m in found] == [
        "reached from the pytest-asyncio test 'test_a_one' (the module's loop, by its loop_scope)",
        "reached from the pytest-asyncio test 'test_b_one' (the module's loop, by its loop_scope)",
    ]
    assert found[0].endswith('2 loops use it; the first binds it, the others fail with "Event loop is closed"')


def test_tests_of_two_modules_with_a_session_loop_scope_are_one_loop(tmp_path):
    files = {
        "app/test_a.py": SCOPED_TESTS.format(scope="session", name="a"),
        "app/test_b.py": SCOPED_TESTS.format(scope="session", name="b"),
    }
    assert [m.split(" via ")[0] for m in evidence(tmp_path, files, "--include-confined")] == [
        "reached from the pytest-asyncio test 'test_a_one' (the session's loop, by its loop_scope)",
    ]


UNSCOPED_TESTS = SCOPED_TESTS.replace('(loop_scope="{scope}")', "")
SESSION_BY_DEFAULT = '[tool.pytest.ini_options]\nasyncio_default_test_loop_scope = "session"\n'


def test_tests_without_a_loop_scope_run_on_a_loop_each_by_default(tmp_path):
    files = {"app/test_a.py": UNSCOPED_TESTS.format(name="a"), "app/test_b.py": UNSCOPED_TESTS.format(name="b")}
    found = evidence(tmp_path, files)
    assert [m.split(" via ")[0] for m in found] == [
        f"reached from the pytest-asyncio test 'test_{name}' (a new event loop per test)"
        for name in ("a_one", "a_two", "b_one", "b_two")
    ]


def test_tests_without_a_loop_scope_share_the_loop_the_projects_pytest_configuration_gives(tmp_path):
    files = {
        "app/test_a.py": UNSCOPED_TESTS.format(name="a"),
        "app/test_b.py": UNSCOPED_TESTS.format(name="b"),
        "pyproject.toml": PROJECT + SESSION_BY_DEFAULT,
    }
    # one loop for the session: the client is confined to it (its finding shown only on request)
    assert [m.split(" via ")[0] for m in evidence(tmp_path, files, "--include-confined")] == [
        "reached from the pytest-asyncio test 'test_a_one' (the session's loop, by"
        ' asyncio_default_test_loop_scope = "session" in pyproject.toml)',
    ]
    assert json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout) == []


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\nasyncio_default_test_loop_scope = module\n"),
        ("tox.ini", "[tox]\nenvlist = py3\n\n[pytest]\nasyncio_default_test_loop_scope = module\n"),
        ("setup.cfg", "[metadata]\nname = app\n\n[tool:pytest]\nasyncio_default_test_loop_scope = module\n"),
        ("pytest.toml", '[pytest]\nasyncio_default_test_loop_scope = "module"\n'),
    ],
)
def test_the_default_test_loop_scope_is_read_from_each_of_pytests_files(tmp_path, name, text):
    files = {"app/test_a.py": UNSCOPED_TESTS.format(name="a"), "app/test_b.py": UNSCOPED_TESTS.format(name="b"), name: text}
    found = evidence(tmp_path, files)
    assert [m.split(" via ")[0] for m in found] == [
        f"reached from the pytest-asyncio test 'test_{name_}_one' (the module's loop, by"
        f' asyncio_default_test_loop_scope = "module" in {name})'
        for name_ in ("a", "b")
    ]


def test_a_test_whose_mark_names_the_function_scope_keeps_a_loop_of_its_own(tmp_path):
    scoped = SCOPED_TESTS.format(scope="function", name="a")
    files = {"app/test_a.py": scoped, "pyproject.toml": PROJECT + SESSION_BY_DEFAULT}
    assert [m.split(" via ")[0] for m in evidence(tmp_path, files)] == [
        "reached from the pytest-asyncio test 'test_a_one' (a new event loop per test, by its loop_scope)",
        "reached from the pytest-asyncio test 'test_a_two' (a new event loop per test, by its loop_scope)",
    ]


UNMARKED_TESTS = UNSCOPED_TESTS.replace("pytestmark = pytest.mark.asyncio\n", "")
AUTO_MODE = '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'


def test_unmarked_async_tests_run_on_a_loop_each_in_auto_mode(tmp_path):
    files = {
        "app/test_a.py": UNMARKED_TESTS.format(name="a"),
        "app/test_b.py": UNMARKED_TESTS.format(name="b"),
        # neither a module pytest collects tests from, nor a test pytest-asyncio runs
        "app/tests_helpers.py": "from app.clients import fetch\n\n\nasync def test_helper():\n    await fetch('h')\n",
        "app/test_c.py": "from app.clients import client\n\n\ndef test_plain():\n    client.close()\n",
        "pyproject.toml": PROJECT + AUTO_MODE,
    }
    found = evidence(tmp_path, files)
    assert [m.split(" via ")[0] for m in found] == [
        f"reached from the pytest-asyncio test 'test_{name}' (a new event loop per test)"
        for name in ("a_one", "a_two", "b_one", "b_two")
    ]


def test_unmarked_async_tests_are_not_run_in_strict_mode(tmp_path):
    files = {"app/test_a.py": UNMARKED_TESTS.format(name="a"), "app/test_b.py": UNMARKED_TESTS.format(name="b")}
    assert evidence(tmp_path, files) == []


def test_unmarked_async_tests_share_the_default_scopes_loop_in_auto_mode(tmp_path):
    files = {
        "app/test_a.py": UNMARKED_TESTS.format(name="a"),
        "app/test_b.py": UNMARKED_TESTS.format(name="b"),
        "pyproject.toml": PROJECT + AUTO_MODE + 'asyncio_default_test_loop_scope = "session"\n',
    }
    assert [m.split(" via ")[0] for m in evidence(tmp_path, files, "--include-confined")] == [
        "reached from the pytest-asyncio test 'test_a_one' (the session's loop, by"
        ' asyncio_default_test_loop_scope = "session" in pyproject.toml)',
    ]


def test_a_change_of_the_pytest_configuration_is_seen_by_a_cached_run(tmp_path):
    files = {"app/test_a.py": UNSCOPED_TESTS.format(name="a"), "app/test_b.py": UNSCOPED_TESTS.format(name="b")}
    assert len(evidence(tmp_path, files)) == 4

    def cached_run() -> list[object]:
        run = subprocess.run(
            [sys.executable, "-m", "loopcheck", "--output-format", "json", "--cache-dir", "cache", "."],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
        return json.loads(run.stdout)

    assert len(cached_run()) == 1
    (tmp_path / "pyproject.toml").write_text(PROJECT + SESSION_BY_DEFAULT)
    assert cached_run() == []
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    assert len(cached_run()) == 1


def test_a_plain_job_of_another_module_is_not_run_on_the_asyncioschedulers_loop(tmp_path):
    jobs = """
    import asyncio

    from app.clients import fetch


    def compact():
        asyncio.run(fetch("k"))
    """
    scheduler = """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from app import jobs

    scheduler = AsyncIOScheduler()
    scheduler.add_job(jobs.compact, "interval", seconds=60)
    """
    assert evidence(tmp_path, {"app/jobs.py": jobs, "app/schedule.py": scheduler}) == [
        "reached from app.jobs.compact (asyncio.run: a new event loop per call) via clients.fetch;"
        ' each run is a new loop; a later run fails with "Event loop is closed"',
    ]
