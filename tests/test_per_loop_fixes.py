"""The unsafe per-loop fixes of LCK101-LCK105 change only what their docs say (one object per
event loop): a fixed program prints what it printed before. The names the fixes generate hide no
variable and are hidden by none, names `__all__` exports stay, `__slots__` classes and
annotations that cannot hold `X | None` on the target Python are respected."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.engine.engine import Linter
from loopcheck.rules import all_rules
from tests.helpers import check_text, fix_text, write

PROGRAMS = Path(__file__).parent / "programs"
HEADER = re.compile(r"#\s*loopcheck-program:\s*(?P<key>[\w-]+)\s*=\s*(?P<value>.+)")


def linter(target: tuple[int, int] = (3, 10)) -> Linter:
    # The rules alone: the command-line tests below run the whole pipeline.
    return Linter(list(all_rules().values()), target_version=target, candidate_stage=False)


def run_python(path: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, path.name], cwd=path.parent, capture_output=True, text=True, timeout=20
    )
    return done.returncode, done.stdout, done.stderr


def fixed(source: str, target: tuple[int, int] = (3, 10)) -> str:
    return fix_text(linter(target), source, "program.py", unsafe=True).source


def assert_same_behaviour(tmp_path: Path, source: str, after: str) -> None:
    before = run_python(write(tmp_path / "before" / "program.py", source))
    assert before[0] == 0, before[2]
    assert run_python(write(tmp_path / "after" / "program.py", after)) == before, after


# -- the accessor's name: free wherever the fix calls it ------------------------------------

NAME_TAKEN = {
    "local of the coroutine": (
        "import asyncio\n_lock = asyncio.Lock()\n\n"
        "async def work():\n    _get_lock = 3\n    async with _lock:\n        await asyncio.sleep(0)\n        return _get_lock\n\n"
        "print(asyncio.run(work()))\n",
        "_get_lock_2()",
    ),
    "comprehension variable": (
        "import asyncio\n_ready = asyncio.Event()\n\n"
        "async def work():\n    _ready.set()\n"
        "    return [await _ready.wait() for _get_ready in range(2)]\n\n"
        "print(asyncio.run(work()))\n",
        "_get_ready_2()",
    ),
    "variable of the enclosing coroutine": (
        "import asyncio\n_lock = asyncio.Lock()\n\n"
        "async def outer():\n    _get_lock = 5\n\n    async def inner():\n"
        "        async with _lock:\n            await asyncio.sleep(0)\n            return _get_lock\n\n    return await inner()\n\n"
        "print(asyncio.run(outer()))\n",
        "_get_lock_2()",
    ),
    "class body in a coroutine": (
        "import asyncio\n_sem = asyncio.Semaphore(2)\n\n"
        "async def outer():\n    class Holder:\n        _get_sem = 7\n        sem = _sem\n"
        "        value = _get_sem\n\n    return Holder.value, Holder.sem._value\n\n"
        "print(asyncio.run(outer()))\n",
        "_get_sem_2()",
    ),
    "global a function binds": (
        "import asyncio\n_lock = asyncio.Lock()\n\ndef setup():\n    global _get_lock\n    _get_lock = 4\n\n"
        "async def work():\n    setup()\n    async with _lock:\n        await asyncio.sleep(0)\n        return _get_lock\n\n"
        "print(asyncio.run(work()))\n",
        "_get_lock_2()",
    ),
    "local of a method (LCK102)": (
        "import asyncio\n\nclass Cache:\n    lock = asyncio.Lock()\n\n"
        "    async def hit(self):\n        _get_cache_lock = 1\n"
        "        async with self.lock:\n            return _get_cache_lock\n\n"
        "print(asyncio.run(Cache().hit()))\n",
        "_get_cache_lock_2()",
    ),
    "local of the function whose default it replaces (LCK103)": (
        "import asyncio\n\nasync def poll(n, ready=asyncio.Event()):\n"
        "    _get_poll_ready = n\n    ready.set()\n    await ready.wait()\n    return _get_poll_ready\n\n"
        "print(asyncio.run(poll(3)))\n",
        "_get_poll_ready_2()",
    ),
}


@pytest.mark.parametrize("case", NAME_TAKEN, ids=list(NAME_TAKEN))
def test_the_accessor_takes_a_name_no_variable_hides_where_it_is_called(tmp_path, case):
    source, call = NAME_TAKEN[case]
    after = fixed(source)
    assert call in after
    assert_same_behaviour(tmp_path, source, after)


# -- the template's variables: never the names the constructor reads -----------------------

CONSTRUCTOR_NAMES = {
    "a global named loop": (
        "import asyncio\nloop = 2\n_sem = asyncio.Semaphore(loop)\n\n"
        "async def work():\n    async with _sem:\n        return _sem._value\n\n"
        "print(asyncio.run(work()))\n",
        "loop_2 = asyncio.get_running_loop()",
    ),
    "globals named other and stale": (
        "import asyncio\nother, stale = 3, 4\n_q = asyncio.Queue(maxsize=other + stale)\n\n"
        "async def work():\n    return _q.maxsize\n\nprint(asyncio.run(work()))\n",
        "for stale_2 in [other_2 for other_2 in",
    ),
    "asyncio imported as loop": (
        "import asyncio as loop\n_lock = loop.Lock()\n\n"
        "async def work():\n    async with _lock:\n        await loop.sleep(0)\n        return 1\n\n"
        "print(loop.run(work()))\n",
        "loop_2 = loop.get_running_loop()",
    ),
    "the property of a shared instance (LCK105)": (
        "import asyncio\nloop = 2\n\nclass Limiter:\n    def __init__(self):\n"
        "        self.slots = asyncio.Semaphore(loop)\n\n"
        "    async def free(self):\n        async with self.slots:\n            return self.slots._value\n\n"
        "limiter = Limiter()\nprint(asyncio.run(limiter.free()))\n",
        "loop_2 = asyncio.get_running_loop()",
    ),
}


@pytest.mark.parametrize("case", CONSTRUCTOR_NAMES, ids=list(CONSTRUCTOR_NAMES))
def test_the_templates_variables_never_hide_what_the_constructor_reads(tmp_path, case):
    source, line = CONSTRUCTOR_NAMES[case]
    after = fixed(source)
    assert line in after
    assert_same_behaviour(tmp_path, source, after)


def test_the_templates_variables_keep_their_names_where_nothing_collides():
    after = fixed("import asyncio\n_lock = asyncio.Lock()\n\nasync def work():\n    async with _lock:\n        await asyncio.sleep(0)\n        pass\n")
    assert "    loop = asyncio.get_running_loop()\n" in after
    assert "for stale in [other for other in list(_lock_by_loop)" in after


# -- the constructor moves into the accessor only where it means the same there, later --------

CANNOT_MOVE = {
    "a variable of the class body (LCK102)": (
        "import asyncio\n\nclass Pool:\n    width = 2\n    slots = asyncio.Semaphore(width)\n\n"
        "    async def free(self):\n        async with self.slots:\n            return self.slots._value\n\n"
        "print(asyncio.run(Pool().free()))\n",
        "the constructor reads `width`, which the per-loop accessor cannot see",
    ),
    "a variable of the class body, in a method's default (LCK103)": (
        "import asyncio\n\nclass Fetcher:\n    limit = 3\n\n"
        "    async def fetch(self, sem=asyncio.Semaphore(limit)):\n        async with sem:\n"
        "            return sem._value\n\nprint(asyncio.run(Fetcher().fetch()))\n",
        "the constructor reads `limit`, which the per-loop accessor cannot see",
    ),
    "an argument of the enclosing function (LCK103)": (
        "import asyncio\n\ndef make(n):\n    async def fetch(sem=asyncio.Semaphore(n)):\n"
        "        async with sem:\n            return sem._value\n    return fetch\n\n"
        "print(asyncio.run(make(5)()))\n",
        "the constructor reads `n`, which the per-loop accessor cannot see",
    ),
    "a global bound again further down (LCK101)": (
        "import asyncio\nsize = 1\n_sem = asyncio.Semaphore(size)\nsize = 5\n\n"
        "async def work():\n    async with _sem:\n        return _sem._value\n\nprint(asyncio.run(work()))\n",
        "the constructor reads `size`, which the module binds again later",
    ),
    "a global a function binds (LCK101)": (
        "import asyncio\nsize = 1\n_sem = asyncio.Semaphore(size)\n\ndef grow():\n    global size\n    size = 5\n\n"
        "async def work():\n    grow()\n    async with _sem:\n        return _sem._value\n\nprint(asyncio.run(work()))\n",
        "the constructor reads `size`, which the module binds again later",
    ),
    "a variable of the method other than self (LCK105)": (
        "import asyncio\n\nclass Limiter:\n    def __init__(self, n):\n        self.slots = asyncio.Semaphore(n)\n\n"
        "    async def free(self):\n        async with self.slots:\n            return self.slots._value\n\n"
        "limiter = Limiter(2)\nprint(asyncio.run(limiter.free()))\n",
        "the constructor reads `n`, which the per-loop property cannot see",
    ),
}


@pytest.mark.parametrize("case", CANNOT_MOVE, ids=list(CANNOT_MOVE))
def test_no_accessor_for_a_constructor_that_would_mean_something_else_there(tmp_path, case):
    source, reason = CANNOT_MOVE[case]
    (finding,) = check_text(linter(), source, "program.py")
    assert finding.fix is None
    assert finding.message.endswith(f"; no fix: {reason}")
    assert fixed(source) == source


def test_globals_bound_before_the_constructor_only_let_it_move(tmp_path):
    source = (
        "import asyncio\ntry:\n    import uvloop\nexcept ImportError:\n    uvloop = None\n"
        "size = 1\nsize = size + 1\n_sem = asyncio.Semaphore(size if uvloop is None else size)\n\n"
        "async def work():\n    async with _sem:\n        return _sem._value\n\nprint(asyncio.run(work()))\n"
    )
    after = fixed(source)
    assert "_get_sem()" in after
    assert_same_behaviour(tmp_path, source, after)


# -- declined fixes: the message says why ---------------------------------------------------

EXPORTED = (
    "import asyncio\n__all__ = ['_lock', '_shared']\n_lock = asyncio.Lock()\n_shared = None\n\n"
    "def get_shared():\n    global _shared\n    if _shared is None:\n        _shared = asyncio.Lock()\n"
    "    return _shared\n\n"
    "async def work():\n    async with _lock:\n        async with get_shared():\n            return 1\n"
)
SLOTTED = (
    "import asyncio\n\nclass Manager:\n    __slots__ = ('lock',)\n\n    def __init__(self):\n"
    "        self.lock = asyncio.Lock()\n\n    async def send(self):\n        async with self.lock:\n"
    "            return 1\n\nmanager = Manager()\n"
)


def test_private_names_that_all_exports_are_public_and_keep_their_name():
    found = {d.code: d for d in check_text(linter(), EXPORTED, "exporter.py")}
    assert found["LCK101"].fix is None and found["LCK104"].fix is None
    assert found["LCK101"].message.endswith(
        "; no fix: `_lock` is public (listed in `__all__`); modules importing it would need changing too"
    )
    assert found["LCK104"].message.endswith(
        "; no fix: `_shared` is public (listed in `__all__`); modules importing it would need changing too"
    )
    assert fixed(EXPORTED) == EXPORTED


def test_no_property_for_an_attribute_of_a_class_with_slots():
    (finding,) = check_text(linter(), SLOTTED, "manager.py")
    assert finding.code == "LCK105" and finding.fix is None
    assert finding.message.endswith("; no fix: `Manager` declares `__slots__`")
    assert fixed(SLOTTED) == SLOTTED


# -- LCK103: an annotation that admits None, evaluable on the target Python ------------------

DEFAULTS = (
    "import asyncio\n\nasync def wait(ready{annotation} = asyncio.Event()):\n"
    "    ready.set()\n    await ready.wait()\n    return 1\n\nprint(asyncio.run(wait()))\n"
)


@pytest.mark.parametrize(
    ("header", "annotation", "target", "written"),
    [
        ("", ': "asyncio.Event"', (3, 10), 'ready: "asyncio.Event | None" = None'),
        ("", ": 'asyncio.Event'", (3, 9), "ready: typing.Optional['asyncio.Event'] = None"),
        ("", ": asyncio.Event", (3, 9), "ready: typing.Optional[asyncio.Event] = None"),
        ("", ": asyncio.Event", (3, 10), "ready: asyncio.Event | None = None"),
        ("from typing import Optional\n", ": asyncio.Event", (3, 9), "ready: Optional[asyncio.Event] = None"),
        ("from __future__ import annotations\n", ": asyncio.Event", (3, 9), "ready: asyncio.Event | None = None"),
        ("from __future__ import annotations\n", ': "asyncio.Event"', (3, 8), 'ready: "asyncio.Event | None" = None'),
    ],
)
def test_the_none_default_keeps_the_annotation_evaluable(tmp_path, header, annotation, target, written):
    source = header + DEFAULTS.format(annotation=annotation)
    after = fixed(source, target)
    assert written in after
    assert_same_behaviour(tmp_path, source, after)


# -- through the command line: the working programs ---------------------------------------

OWN_PROGRAMS = (
    "lck101_accessor_name_taken.py",
    "lck101_constructor_names.py",
    "lck101_all_exports.py",
    "lck105_slots.py",
    "lck103_annotations.py",
    "lck101_constructor_scope.py",
)


def headers(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = HEADER.match(line)
        if match:
            found[match["key"]] = match["value"].strip()
    return found


@pytest.mark.parametrize("name", OWN_PROGRAMS)
def test_a_working_program_prints_the_same_after_the_unsafe_fixes(tmp_path, name):
    program = PROGRAMS / name
    settings = headers(program)
    config = write(
        tmp_path / "config.toml", f'[tool.loopcheck]\ntarget-version = "{settings.get("target-version", "py310")}"\n'
    )
    before = run_python(program)
    assert before[0] == 0, before[2]
    copy = write(tmp_path / "copy" / name, program.read_text())
    # Each program runs one loop (it must run clean before the fixes): its objects are confined,
    # reported (and fixed) only on request.
    check = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--include-confined", "--config", str(config), str(copy)],
        capture_output=True, text=True, timeout=120,
    )
    reported = set(re.findall(r": (LCK\d{3}) ", check.stdout))
    assert reported == {code.strip() for code in settings["findings"].split(",")}, check.stdout
    fix = subprocess.run(
        [
            sys.executable, "-m", "loopcheck", "--no-cache", "--include-confined", "--config", str(config),
            "--fix", "--unsafe-fixes", str(copy),
        ],
        capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in fix.stderr, fix.stderr
    assert run_python(copy) == before, copy.read_text()


@pytest.mark.parametrize(
    ("code", "source", "reason"),
    [
        ("LCK101", "import asyncio\n_lock = asyncio.Lock()\n", "nothing in this module uses it"),
        ("LCK101", "import asyncio\n_q = asyncio.Queue()\ndef put(x):\n    _q.put_nowait(x)\n",
         "it is used outside coroutines, and asyncio.Queue has no `threading` counterpart"),
        ("LCK101", "import asyncio\n_lock = asyncio.Lock()\ndef f():\n    with _lock:\n        pass\n"
         "async def g():\n    async with _lock:\n        await asyncio.sleep(0)\n        pass\n",
         "it is used both in coroutines and in synchronous code"),
        ("LCK101", "import asyncio\nif True:\n    _lock = asyncio.Lock()\nasync def g():\n    async with _lock:\n"
         "        await asyncio.sleep(0)\n", "it is created inside a block (`if`, `try`...), not at the module's top level"),
        ("LCK101", "import asyncio\n_a = _b = asyncio.Lock()\nasync def g():\n    async with _a:\n        await asyncio.sleep(0)\n        pass\n",
         "the fix needs it assigned to one name, on a line of its own"),
        ("LCK102", "import asyncio\nclass C:\n    lock = asyncio.Lock()\nasync def f():\n"
         "    async with C.lock:\n        pass\n",
         "moving it out would leave the body of `C` empty"),
        ("LCK103", "import asyncio\ndef make(done=asyncio.Event()):\n    return done\n"
         "async def finished():\n    await make().wait()\n",
         "`make()` is not a coroutine, and a per-loop object needs a running loop"),
        ("LCK104", "import asyncio\n_locks = {}\nasync def f(k):\n"
         "    async with _locks.setdefault(k, asyncio.Lock()):\n        pass\n", "the fix rewrites only a getter (`global x`, `if x is None: x = ...`, `return x`)"),
        ("LCK303", "import httpx\n_client = None\n_error = None\ndef get():\n    global _client, _error\n    try:\n"
         "        if _client is None:\n            _client = httpx.AsyncClient()\n    except Exception as e:\n"
         "        _error = e\n    return _client\nasync def f():\n    return await get().get('x')\n",
         "the fix rewrites only a getter (`global x`, `if x is None: x = ...`, `return x`)"),
        ("LCK303", "import httpx\nloop = 'x'\n_client = None\ndef get():\n    global _client\n    if _client is None:\n"
         "        _client = httpx.AsyncClient(base_url=loop)\n    return _client\nasync def f():\n"
         "    return await get().get('x')\n",
         "the constructor reads `loop`, a name the per-loop accessor uses as a local"),
        ("LCK303", "import functools, httpx\n@functools.lru_cache\ndef get(n):\n    return httpx.AsyncClient()\n"
         "async def f():\n    return await get(1).get('x')\n",
         "`get()` takes arguments, so it keeps a client per argument"),
        ("LCK303", "import httpx\n_client = None\ndef get():\n    global _client\n    if _client is None:\n"
         "        _client = httpx.AsyncClient()\n    return _client\ndef f():\n    return get()\n",
         "`get()` is called outside coroutines, where no loop may be running"),
        ("LCK303", "import asyncpg\n_pool = None\nasync def get():\n    global _pool\n    if _pool is None:\n"
         "        _pool = await asyncpg.create_pool()\n    return _pool\nasync def f():\n    return await get()\n",
         "loopcheck does not know how to make and close asyncpg.Pool clients per loop"),
        ("LCK301", "import httpx\nclient = 'x'\n_http = httpx.AsyncClient(base_url=client)\nasync def f():\n"
         "    return await _http.get('x')\nasync def g():\n    return await _http.get('y')\n",
         "the constructor reads `client`, a name the per-loop accessor uses as a local"),
        ("LCK301", "import httpx\n_http = httpx.AsyncClient()\ndef f():\n    return _http\n",
         "it is used outside coroutines, where no loop may be running"),
        ("LCK301", "import httpx\nhttp = httpx.AsyncClient()\nasync def f():\n    return await http.get('x')\n",
         "`http` is public; modules importing it would need changing too"),
        ("LCK302", "import httpx\nclass C:\n    http = httpx.AsyncClient()\n    def get(self):\n        return self.http\n",
         "it is used outside coroutines, where no loop may be running"),
        ("LCK302", "import httpx\nclass C:\n    http = httpx.AsyncClient()\nasync def f():\n    return await C.http.get('x')\n",
         "moving it out would leave the body of `C` empty"),
        ("LCK305", "import httpx\nclass Api:\n    def __init__(self, url):\n        self.http = httpx.AsyncClient(base_url=url)\n"
         "    async def get(self):\n        return await self.http.get('x')\napi = Api('u')\n",
         "the constructor reads `url`, which the per-loop property cannot see"),
        ("LCK305", "import httpx\nclass Api:\n    def __init__(self):\n        self.http = httpx.AsyncClient()\n"
         "    def get(self):\n        return self.http\napi = Api()\n",
         "it is used outside coroutines, where no loop may be running"),
        ("LCK305", "import httpx\nclass Api:\n    __slots__ = ('http',)\n    def __init__(self):\n"
         "        self.http = httpx.AsyncClient()\n    async def get(self):\n        return await self.http.get('x')\napi = Api()\n",
         "`Api` declares `__slots__`"),
        ("LCK305", "import asyncpg\nclass Db:\n    def __init__(self):\n        self.pool = asyncpg.create_pool()\n"
         "    async def get(self):\n        return await self.pool.fetch('x')\ndb = Db()\n",
         "loopcheck does not know how to make and close asyncpg.Pool clients per loop"),
        ("LCK305", "import httpx\nclass Api:\n    def __init__(self):\n        self.loop = 1\n        self.http = httpx.AsyncClient(base_url=loop)\n"
         "    async def get(self):\n        return await self.http.get('x')\nloop = 'u'\napi = Api()\n",
         "the constructor reads `loop`, a name the per-loop accessor uses as a local"),
    ],
    ids=["101-unused", "101-no-twin", "101-mixed", "101-block", "101-two-names", "102-empty-class",
         "103-plain-function", "104-container", "303-try-getter", "303-accessor-local", "303-arguments",
         "303-sync-caller", "303-uncatalogued-close", "301-accessor-local", "301-sync-use", "301-public",
         "302-sync-use", "302-empty-class", "305-method-variable", "305-sync-use", "305-slots",
         "305-uncatalogued-close", "305-accessor-local"],
)
def test_a_declined_per_loop_fix_says_why(code, source, reason):
    found = [d for d in check_text(linter(), source, "module.py") if d.code == code]
    assert len(found) == 1, found
    assert found[0].fix is None
    assert found[0].message.endswith(f"; no fix: {reason}")


# -- the getter rewrite LCK104 and LCK303 share -------------------------------------------

GETTER = "def get():\n    global _x\n    if _x is None:\n        _x = {made}\n    return _x\n"
IMPORTS = "import asyncio, httpx\n"
MADE = {"LCK104": "asyncio.Lock()", "LCK303": "httpx.AsyncClient()"}
USE = "async def use():\n    return get()\n"


@pytest.mark.parametrize(
    ("initial", "elsewhere", "reason"),
    [
        ("if True:\n    _x = None\n", "", "`_x = None` is not on a line of its own at the module's top level"),
        ("_x = None; _y = 1\n", "", "`_x = None` is not on a line of its own at the module's top level"),
        ("_x: object = 0\n", "", "`_x = None` is not on a line of its own at the module's top level"),
        ("_x = None\n", "def reset():\n    global _x\n    _x = None\n", "`_x` is read or set outside `get()` too"),
        ("_x = None\n", "def peek():\n    return _x\n", "`_x` is read or set outside `get()` too"),
    ],
    ids=["in-a-block", "shared-line", "not-none", "reset-elsewhere", "read-elsewhere"],
)
@pytest.mark.parametrize("code", sorted(MADE))
def test_both_getter_fixes_decline_a_global_used_beyond_the_getter_alike(code, initial, elsewhere, reason):
    source = IMPORTS + initial + GETTER.format(made=MADE[code]) + elsewhere + USE
    found = [d for d in check_text(linter(), source, "module.py") if d.code == code]
    assert len(found) == 1, found
    assert found[0].fix is None
    assert found[0].message.endswith(f"; no fix: {reason}")


@pytest.mark.parametrize("code", sorted(MADE))
def test_the_rewritten_getter_keeps_its_name_its_docstring_and_the_comments_of_its_global(code):
    getter = GETTER.format(made=MADE[code]).replace("():\n", '():\n    """The one."""\n', 1)
    after = fixed(IMPORTS + "# kept\n_x = None  # lazily\n\n\n" + getter + "\n\n" + USE)
    assert re.search(r"# kept\n_\w+_by_loop = \{\}  # lazily\n", after), after
    assert 'def get():\n    """The one."""\n    loop = ' in after, after
    assert not re.search(r"\b_x\b", after), after


# -- LCK304: a client a worker start-up hook makes -------------------------------------------

HOOK_IMPORTS = "import httpx\nfrom celery.signals import worker_process_init\n"
HOOK_USE = "async def fetch():\n    return await _http.get('x')\n"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (HOOK_IMPORTS + "_http = None\ndef open_http(**kwargs):\n    global _http\n    _http = httpx.AsyncClient()\n"
         "worker_process_init.connect(open_http)\n" + HOOK_USE,
         "it would leave `open_http()` empty, and something calls it"),
        (HOOK_IMPORTS + "@worker_process_init.connect\ndef open_http(**kwargs):\n    global _http\n"
         "    _http = httpx.AsyncClient()\n" + HOOK_USE,
         "`_http = None` is not on a line of its own at the module's top level"),
        (HOOK_IMPORTS + "_http = None\n@worker_process_init.connect\ndef open_http(**kwargs):\n    global _http\n"
         "    _http = httpx.AsyncClient()\ndef close_http():\n    global _http\n    _http = None\n" + HOOK_USE,
         "`_http` is assigned elsewhere too"),
        (HOOK_IMPORTS + "_http = None\n@worker_process_init.connect\ndef open_http(**kwargs):\n    global _http\n"
         "    _http = httpx.AsyncClient(base_url=kwargs['url'])\n" + HOOK_USE,
         "the constructor reads `kwargs`, which the per-loop accessor cannot see"),
        (HOOK_IMPORTS + "_http = None\n@worker_process_init.connect\ndef open_http(**kwargs):\n    global _http\n"
         "    if True:\n        _http = httpx.AsyncClient()\n" + HOOK_USE,
         "it is not made by a statement of the hook's own body"),
        (HOOK_IMPORTS + "_http = None\n@worker_process_init.connect\ndef open_http(**kwargs):\n    global _http\n"
         "    _http = httpx.AsyncClient()\n    _http.headers['a'] = 'b'\n" + HOOK_USE,
         "it is used outside coroutines, where no loop may be running"),
        (HOOK_IMPORTS + "http = None\n@worker_process_init.connect\ndef open_http(**kwargs):\n    global http\n"
         "    http = httpx.AsyncClient()\nasync def fetch():\n    return await http.get('x')\n",
         "`http` is public; modules importing it would need changing too"),
    ],
    ids=["connected-by-call", "no-initial-none", "reset-elsewhere", "hook-argument", "in-a-block",
         "used-in-the-hook", "public"],
)
def test_a_declined_worker_hook_fix_says_why(source, reason):
    found = [d for d in check_text(linter(), source, "module.py") if d.code == "LCK304"]
    assert len(found) == 1, found
    assert found[0].fix is None
    assert found[0].message.endswith(f"; no fix: {reason}")


def test_the_hook_keeps_what_else_it_does_and_the_other_names_it_declares():
    source = (
        HOOK_IMPORTS + "import logging\n_http = None\n_ready = False\n\n\n"
        "@worker_process_init.connect\ndef open_http(**kwargs):\n    global _ready, _http\n"
        "    _http = httpx.AsyncClient()\n    _ready = True\n    logging.info('started')\n\n\n" + HOOK_USE
    )
    after = fixed(source)
    assert "@worker_process_init.connect\ndef open_http(**kwargs):\n    global _ready\n    _ready = True\n" in after, after
    assert "return await _get_http().get('x')" in after and not re.search(r"\b_http\b", after), after


def test_an_async_hook_that_made_only_the_client_goes_with_its_connection():
    source = (
        HOOK_IMPORTS + "_http = None\n\n\n@worker_process_init.connect\nasync def open_http(**kwargs):\n"
        "    global _http\n    _http = httpx.AsyncClient()\n\n\n" + HOOK_USE
    )
    after = fixed(source)
    assert "open_http" not in after and "worker_process_init" not in after, after
    assert "def _get_http():" in after and "return await _get_http().get('x')" in after, after


def test_a_client_a_method_the_hook_calls_keeps_on_a_shared_instance_becomes_a_per_loop_property():
    source = (
        HOOK_IMPORTS + "class Services:\n    def connect(self):\n        self.http = httpx.AsyncClient()\n\n"
        "    async def fetch(self):\n        return await self.http.get('x')\n\n\nservices = Services()\n\n\n"
        "@worker_process_init.connect\ndef init_worker(**kwargs):\n    services.connect()\n"
    )
    found = [d for d in check_text(linter(), source, "module.py") if d.code == "LCK304"]
    assert [d.fix.description for d in found] == [
        "Make `http` a property keeping one client per event loop, closed when its loop ends"
    ], found
    after = fixed(source)
    assert "        self._http_by_loop = {}\n\n    @property\n    def http(self):\n" in after, after


def test_the_worker_hook_fix_names_the_comment_that_goes_with_the_hook():
    source = (
        HOOK_IMPORTS + "_http = None\n\n\n@worker_process_init.connect\ndef open_http(**kwargs):\n"
        "    global _http\n    # One client per worker process.\n    _http = httpx.AsyncClient()\n\n\n" + HOOK_USE
    )
    (found,) = [d for d in check_text(linter(), source, "module.py") if d.code == "LCK304"]
    assert found.fix.description.endswith(
        "`open_http()`, which made only that, goes; removes the comment `# One client per worker process.`"
    ), found.fix.description
