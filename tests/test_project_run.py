"""The project model in a run: confined objects, standard input and the flake8 plugin see the
same model as the command line, and a model that cannot be built costs only the evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loopcheck.data.catalogue import Catalogue
from loopcheck.run import project as run_project
from loopcheck.run.project import project_view
from loopcheck.settings.config import Settings
from tests.helpers import write

ONE_LOOP = """\
import asyncio

_lock = asyncio.Lock()


async def guarded():
    async with _lock:
        await asyncio.sleep(0)


asyncio.run(guarded())
"""

TASK = """\
import asyncio

from app.store import guarded


def task():
    asyncio.run(guarded())
"""

STORE = """\
import asyncio

_lock = asyncio.Lock()


async def guarded():
    async with _lock:
        await asyncio.sleep(0)
"""


def loopcheck(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
    )


def test_an_object_one_loop_reaches_is_neither_reported_nor_fixed_unless_asked(tmp_path):
    app = write(tmp_path / "app.py", ONE_LOOP)
    assert loopcheck("app.py", cwd=tmp_path).stdout.strip() == "All checks passed."
    fixed = loopcheck("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert fixed.returncode == 0 and app.read_text() == ONE_LOOP
    shown = loopcheck("--include-confined", "app.py", cwd=tmp_path)
    assert shown.returncode == 1
    assert shown.stdout.splitlines()[:2] == [
        shown.stdout.splitlines()[0],
        "    app.py:11:1: reached from the import of app (asyncio.run: a new event loop per call) via app.guarded;"
        " the only loop that uses it: harmless in this program",
    ]
    assert shown.stdout.startswith("app.py:3:9: LCK101 ")
    loopcheck("--include-confined", "--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert app.read_text() != ONE_LOOP


def project(tmp_path: Path) -> Path:
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "tasks.py", TASK)
    write(tmp_path / "app" / "store.py", STORE)
    return tmp_path


def test_a_file_checked_alone_sees_the_loops_of_the_rest_of_its_project(tmp_path):
    root = project(tmp_path)
    alone = json.loads(loopcheck("--output-format", "json", "app/store.py", cwd=root).stdout)
    whole = json.loads(loopcheck("--output-format", "json", ".", cwd=root).stdout)
    assert alone == whole
    (finding,) = alone
    assert finding["code"] == "LCK101"
    assert [e["message"] for e in finding["evidence"]] == [
        "reached from app.tasks.task (asyncio.run: a new event loop per call) via store.guarded;"
        ' each run is a new loop; a later run fails with "is bound to a different event loop" once tasks'
        " have had to wait for it under two loops"
    ]
    assert finding["evidence"][0]["location"] == {"path": "app/tasks.py", "row": 7, "column": 5}


def test_standard_input_stands_for_its_file_in_the_model(tmp_path):
    root = project(tmp_path)
    whole = json.loads(loopcheck("--output-format", "json", "app/store.py", cwd=root).stdout)
    piped = loopcheck("--output-format", "json", "--stdin-filename", "app/store.py", "-", cwd=root, stdin=STORE)
    assert json.loads(piped.stdout) == whole
    # The buffer, not the file on disk: without the lock's use, no loop reaches it.
    unused = STORE.replace("    async with _lock:\n        await asyncio.sleep(0)\n", "    await asyncio.sleep(0)\n")
    piped = loopcheck("--output-format", "json", "--stdin-filename", "app/store.py", "-", cwd=root, stdin=unused)
    (finding,) = json.loads(piped.stdout)
    assert finding["evidence"] == []
    assert "(no event loop in this project was seen reaching it)" in finding["message"]


def test_the_flake8_plugin_sees_the_rest_of_the_project(tmp_path):
    root = project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK", "app/store.py"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    (line,) = result.stdout.splitlines()
    assert line.startswith("app/store.py:3:9: LCK101 ")
    assert line.endswith("[reached from app.tasks.task]")


def test_a_model_that_cannot_be_built_costs_the_evidence_never_the_findings(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(run_project, "list_project", broken)
    notes: list[str] = []
    app = str(write(tmp_path / "app.py", ONE_LOOP))
    view = project_view([app], Settings(), Catalogue.load(), (), None, notes.append)
    (note,) = notes
    assert note.startswith("the project model could not be built (RuntimeError: boom")
    assert note.endswith("); findings carry no evidence")
    assert view.reach is None and view.held_back() == {}


def test_findings_and_evidence_are_the_same_in_one_process_in_several_and_from_the_cache(tmp_path):
    root = project(tmp_path)
    for n in range(40):  # enough files for the runner to use worker processes
        write(root / "app" / f"filler_{n}.py", f"import asyncio\n\n_lock_{n} = asyncio.Lock()\n")

    def findings(*args: str) -> list:
        result = subprocess.run(
            [sys.executable, "-m", "loopcheck", "--output-format", "json", *args, "."],
            cwd=root, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 1, result.stderr
        return json.loads(result.stdout)

    one = findings("--no-cache", "-j", "1")
    assert [f["evidence"] != [] for f in one].count(True) == 1  # the lock the task reaches
    assert findings("--no-cache", "-j", "2") == one
    cache = str(tmp_path / "cache")
    assert findings("--cache-dir", cache, "-j", "2") == one  # filling the cache
    assert findings("--cache-dir", cache, "-j", "2") == one  # served from it


LOOPED_TASK = STORE + """

def task():
    return asyncio.run(guarded())


if __name__ == "__main__":
    for _ in range(2):
        task()
"""


def lock_evidence(tmp_path: Path, source: str) -> list[str]:
    """The evidence of the one finding of ``source`` as app.py: LCK101 on its `_lock`."""
    write(tmp_path / "app.py", source)
    (finding,) = json.loads(loopcheck("--output-format", "json", "app.py", cwd=tmp_path).stdout)
    assert (finding["code"], finding["location"]["row"]) == ("LCK101", 3)
    return [e["message"] for e in finding["evidence"]]


def test_a_task_called_in_a_loop_under_main_runs_many_loops(tmp_path):
    assert lock_evidence(tmp_path, LOOPED_TASK) == [
        "reached from app.task (asyncio.run: a new event loop per call) via app.guarded;"
        ' each run is a new loop; a later run fails with "is bound to a different event loop" once tasks'
        " have had to wait for it under two loops"
    ]
    # Called once, the same task is one loop: nothing to report.
    write(tmp_path / "app.py", LOOPED_TASK.replace("    for _ in range(2):\n        task()", "    task()"))
    assert loopcheck("app.py", cwd=tmp_path).stdout.strip() == "All checks passed."


HAND_BUILT = STORE + """

def hand_built():
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(guarded())
    finally:
        loop.close()


def current():
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(guarded())


_worker_loop = asyncio.new_event_loop()


def kept():
    return _worker_loop.run_until_complete(guarded())
"""


def test_the_loop_rules_get_the_evidence_of_the_loop_on_the_line_they_report(tmp_path):
    # LCK201 and LCK203 report where the local loop is made or looked up, LCK202 where the loop
    # is kept and where it is reused: each line stands for a loop the model follows.
    write(tmp_path / "app.py", HAND_BUILT)
    found = json.loads(loopcheck("--output-format", "json", "--select", "LCK2", "app.py", cwd=tmp_path).stdout)
    lines = {(f["code"], f["location"]["row"]): [e["message"].split(",")[0] for e in f["evidence"]] for f in found}
    reaches = ["this loop reaches asyncio.Lock '_lock' (app.py:3)"]
    assert lines == {("LCK201", 12): reaches, ("LCK203", 20): reaches, ("LCK202", 24): reaches, ("LCK202", 28): reaches}


NESTED_RUN = """\
import asyncio

_lock = asyncio.Lock()


def task(name):
    async def run():
        async with _lock:
            await asyncio.sleep(0)
        return name

    return asyncio.run(run())
"""


def test_a_loop_running_an_async_function_nested_in_the_task_is_followed(tmp_path):
    assert lock_evidence(tmp_path, NESTED_RUN) == [
        "reached from app.task (asyncio.run: a new event loop per call) via app.task.run;"
        ' each run is a new loop; a later run fails with "is bound to a different event loop" once tasks'
        " have had to wait for it under two loops"
    ]


def test_a_module_in_a_folder_without_init_inside_a_package_is_reached_by_its_dotted_name(tmp_path):
    # No project file, and ``app/tools`` has no ``__init__.py`` (as in a Docker-shipped app).
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "tasks.py", TASK.replace("from app.store", "from app.tools.store"))
    write(tmp_path / "app" / "tools" / "store.py", STORE)
    (finding,) = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert finding["code"] == "LCK101"
    assert [e["message"].partition(" via ")[0] for e in finding["evidence"]] == [
        "reached from app.tasks.task (asyncio.run: a new event loop per call)"
    ]


ROUTES = """\
from starlette.routing import Route

from app.store import guarded


async def events(request):
    await guarded()


routes = [Route("/events", events)]
"""


def test_an_object_only_a_starlette_route_list_reaches_is_confined_to_the_server_loop(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "routes.py", ROUTES)
    write(tmp_path / "app" / "store.py", STORE)
    assert loopcheck(".", cwd=tmp_path).stdout.strip() == "All checks passed."
    (finding,) = json.loads(loopcheck("--output-format", "json", "--include-confined", ".", cwd=tmp_path).stdout)
    assert [e["message"] for e in finding["evidence"]] == [
        "reached from the async route handler 'events' (the server's loop) via routes.events -> store.guarded;"
        " the only loop that uses it: harmless in this program"
    ]


FLASK_VIEWS = """\
from flask import Flask

from app.store import guarded

app = Flask(__name__)


@app.route("/")
async def index():
    await guarded()
    return "ok"
"""


def test_a_flask_async_view_runs_on_a_new_loop_per_request_not_on_a_server_loop(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "views.py", FLASK_VIEWS)
    write(tmp_path / "app" / "store.py", STORE)
    (finding,) = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert finding["code"] == "LCK101"
    assert [e["message"] for e in finding["evidence"]] == [
        "reached from app.views.index (Flask async view: a new event loop per request)"
        " via views.index -> store.guarded;"
        ' each run is a new loop; a later run fails with "is bound to a different event loop" once tasks'
        " have had to wait for it under two loops"
    ]
    assert finding["evidence"][0]["location"] == {"path": "app/views.py", "row": 8, "column": 2}


def test_after_nest_asyncio_apply_asyncio_run_is_the_threads_one_loop(tmp_path):
    # nest_asyncio patches asyncio.run() to run on the thread's current loop and leave it open:
    # every run of the task is on one loop, and the lock is confined to it.
    root = project(tmp_path)
    tasks = root / "app" / "tasks.py"
    tasks.write_text("import nest_asyncio\n\nnest_asyncio.apply()\n" + TASK)
    shown = json.loads(loopcheck("--output-format", "json", ".", cwd=root).stdout)
    assert [f["code"] for f in shown] == ["LCK205"]  # nest_asyncio itself, not the lock
    shown = json.loads(loopcheck("--include-confined", "--output-format", "json", ".", cwd=root).stdout)
    (finding,) = [f for f in shown if f["code"] == "LCK101"]
    (evidence,) = finding["evidence"]
    assert evidence["message"] == (
        "reached from app.tasks.task (asyncio.run after nest_asyncio.apply(): the thread's current loop)"
        " via store.guarded; the only loop that uses it: harmless in this program"
    )


LIFESPAN_CLIENTS = """\
import redis.asyncio as redis

_client = None


async def start():
    global _client
    _client = redis.from_url("redis://localhost")


async def stop():
    global _client
    await _client.aclose()
    _client = None


def get_client():
    return _client
"""

LIFESPAN_API = """\
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import clients


@asynccontextmanager
async def lifespan(app):
    await clients.start()
    yield
    await clients.stop()


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def index():
    return await clients.get_client().get("k")
"""


LIFESPAN_TASK = """\
import asyncio

from app.clients import get_client


async def fetch():
    return await get_client().get("k")


def task():
    asyncio.run(fetch())
"""


def test_a_client_the_lifespan_starts_and_stops_is_confined_to_the_server_loop(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "clients.py", LIFESPAN_CLIENTS)
    write(tmp_path / "app" / "api.py", LIFESPAN_API)
    assert loopcheck(".", cwd=tmp_path).stdout.strip() == "All checks passed."
    # A Celery task that also uses it makes it shared: the finding comes back, with both loops.
    write(tmp_path / "app" / "tasks.py", LIFESPAN_TASK)
    shown = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert [f["code"] for f in shown] == ["LCK303"]
    assert len(shown[0]["evidence"]) == 2


NOTIFY = """\
from telegram import Bot

bot = Bot("123:abc")


async def send(chat, text):
    await bot.send_message(chat, text)
"""

ALERTS = """\
import asyncio

from celery import shared_task

from app.notify import send


@shared_task
def alert(chat):
    asyncio.run(send(chat, "down"))
"""


def test_a_module_level_telegram_bot_a_celery_task_reaches_fails_as_the_catalogue_says(tmp_path):
    # python-telegram-bot's Bot keeps its httpx pool on the first loop (data/clients.toml).
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "notify.py", NOTIFY)
    write(tmp_path / "app" / "tasks.py", ALERTS)
    (finding,) = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert (finding["code"], finding["location"]["row"]) == ("LCK301", 3)
    assert [e["message"] for e in finding["evidence"]] == [
        "reached from the Celery task 'alert' (asyncio.run: a new event loop per call) via notify.send; each run"
        " is a new loop; under the prefork pool (Celery's default), the next task of the same worker process"
        " fails with \"Unknown error in HTTP implementation: RuntimeError('Event loop is closed')\""
    ]


DATABASE = """\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.repository import Repository

engine = create_async_engine("postgresql+asyncpg://db/app")
session_factory = async_sessionmaker(engine, expire_on_commit=False)
repository = Repository(engine)
"""

REPOSITORY = """\
import redis.asyncio as aioredis

cache = aioredis.Redis()


class Repository:
    def __init__(self, engine):
        self.engine = engine

    async def count(self):
        return await cache.get("count")
"""

REPORTS = """\
import asyncio

from celery import shared_task

from app.database import repository, session_factory


async def evaluate():
    async with session_factory() as session:
        await session.execute("SELECT 1")
    return await repository.count()


@shared_task
def run_evaluator():
    return asyncio.run(evaluate())
"""


def test_a_library_object_made_from_a_holder_uses_it_and_a_project_instance_is_followed(tmp_path):
    # `session_factory = async_sessionmaker(engine)`: a session of it uses the engine's pool.
    # `repository = Repository(engine)` is a project class's instance: its methods are followed.
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "database.py", DATABASE)
    write(tmp_path / "app" / "repository.py", REPOSITORY)
    write(tmp_path / "app" / "reports.py", REPORTS)
    findings = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    evidence = {
        (f["filename"].rpartition("/")[2], f["location"]["row"]): [e["message"] for e in f["evidence"]]
        for f in findings
    }
    task = "reached from the Celery task 'run_evaluator' (asyncio.run: a new event loop per call) via "
    prefork = "under the prefork pool (Celery's default), the next task of the same worker process"
    assert evidence == {
        ("database.py", 5): [task + f'reports.evaluate; each run is a new loop; {prefork} fails with'
                             ' "attached to a different loop"'],
        ("repository.py", 3): [task + 'reports.evaluate -> repository.Repository.count; each run is a new loop;'
                               f' {prefork} fails with "Event loop is closed"'],
    }


SCRIPT_DB = """\
import redis.asyncio as aioredis

client = aioredis.Redis()


async def count():
    return await client.get("n")
"""

SCRIPT_API = """\
from fastapi import FastAPI

from app.db import count

app = FastAPI()


@app.get("/n")
async def n():
    return await count()
"""


def test_a_loop_under_the_main_guard_of_a_package_module_is_its_program_not_its_import(tmp_path):
    # `python -m app.scripts.report` runs its own loop: LCK207 (a loop run at import that binds
    # what other loops use later) is only for the module whose import runs one.
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "scripts" / "__init__.py", "")
    write(tmp_path / "app" / "db.py", SCRIPT_DB)
    write(tmp_path / "app" / "api.py", SCRIPT_API)
    run = "import asyncio\n\nfrom app.db import count\n\n"
    write(tmp_path / "app" / "scripts" / "report.py", run + 'if __name__ == "__main__":\n    asyncio.run(count())\n')
    write(tmp_path / "app" / "scripts" / "warm.py", run + "asyncio.run(count())\n")
    findings = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert [(f["code"], f["filename"].rpartition("/")[2]) for f in findings] == [
        ("LCK301", "db.py"), ("LCK207", "warm.py"),
    ]
    # The program's loop runs in a process of its own: it never meets the server's client.
    assert [e["message"].partition(" via ")[0] for e in findings[0]["evidence"]] == [
        "reached from the async route handler 'n' (the server's loop)",
        "reached from the import of app.scripts.warm (asyncio.run: a new event loop per call)",
    ]


TESTED_API = SCRIPT_API + "\n\n@app.get(\"/m\")\nasync def m():\n    return await count()\n"


def test_loops_of_the_test_session_and_of_programs_never_meet_the_applications_objects(tmp_path):
    # The server's client, used by one test's asyncio.run and one program's: one loop in each
    # process, a single-loop design in every one of them.
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "db.py", SCRIPT_DB)
    write(tmp_path / "app" / "api.py", TESTED_API)
    use = "import asyncio\n\nfrom app.db import count\n\n"
    write(tmp_path / "app" / "report.py", use + 'if __name__ == "__main__":\n    asyncio.run(count())\n')
    write(tmp_path / "tests" / "test_db.py", use + "def test_count():\n    assert asyncio.run(count()) is None\n")
    assert json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout) == []
    # A second test: the test session runs two loops on the one client, which fails there.
    write(tmp_path / "tests" / "test_db.py", use + "".join(
        f"def test_count_{n}():\n    assert asyncio.run(count()) is None\n\n\n" for n in (1, 2)
    ))
    (finding,) = json.loads(loopcheck("--output-format", "json", ".", cwd=tmp_path).stdout)
    assert finding["code"] == "LCK301"
    assert [e["message"].partition(" via ")[0] for e in finding["evidence"]] == [
        f"reached from test_db.test_count_{n} (asyncio.run: a new event loop per call)" for n in (1, 2)
    ]
