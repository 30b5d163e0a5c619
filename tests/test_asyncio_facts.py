"""Claims the documentation and the generated fixes make about asyncio, checked on every
supported interpreter found on the machine."""

from __future__ import annotations

import ast
import subprocess

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.fixes.templates import accessor_code

# A WeakKeyDictionary keyed by the loop keeps every loop alive (a bound lock holds its loop), while
# the generated accessor evicts closed loops: after three asyncio.run() calls it holds one entry.
CACHE_SCRIPT = """
import asyncio, gc, weakref

weak = weakref.WeakKeyDictionary()

async def hold(lock):
    async with lock:
        await asyncio.sleep(0.001)

async def use_weak():
    # Contended, so the lock binds to the loop (uncontended locks never bind, since 3.10).
    lock = weak.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    await asyncio.gather(hold(lock), hold(lock))

{accessor}

async def use_accessor():
    await asyncio.gather(hold(_get_lock()), hold(_get_lock()))

for _ in range(3):
    asyncio.run(use_weak())
    asyncio.run(use_accessor())
gc.collect()
print(len(weak), len(_lock_by_loop))
"""


def test_weak_keys_keep_loops_alive_and_the_accessor_does_not(python):
    script = CACHE_SCRIPT.format(
        accessor=accessor_code("_lock_by_loop", "_get_lock", "lock", "asyncio.Lock()")
    )
    completed = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    weak_entries, accessor_entries = map(int, completed.stdout.split())
    assert weak_entries == 3, "closed loops were freed: the documentation's claim is wrong"
    assert accessor_entries == 1


# How a task waits on each catalogued primitive (`wait`), and how the same object is used without
# any task waiting (`passes`), for PRIMITIVE_SCRIPT: the catalogue's `fails-once` says a second
# loop's use fails only once tasks have waited on it under two loops.
PRIMITIVE_USES = {
    "Lock": ("asyncio.Lock()", "await hold_twice(obj)", "async with obj: pass"),
    "Semaphore": ("asyncio.Semaphore(1)", "await hold_twice(obj)", "async with obj: pass"),
    "BoundedSemaphore": ("asyncio.BoundedSemaphore(1)", "await hold_twice(obj)", "async with obj: pass"),
    "Event": (
        "asyncio.Event()",
        "obj.clear(); later(obj.set); await obj.wait()",
        "obj.set(); await obj.wait(); obj.clear()",
    ),
    "Condition": (
        "asyncio.Condition()",
        "later(lambda: asyncio.ensure_future(notify(obj))); await wait_on(obj)",
        "await notify(obj)",
    ),
    "Barrier": ("asyncio.Barrier(2)", "await asyncio.gather(obj.wait(), obj.wait())", None),
    "Queue": ("asyncio.Queue()", "later(lambda: obj.put_nowait(1)); await obj.get()", "await obj.put(1); await obj.get()"),
    "LifoQueue": (
        "asyncio.LifoQueue()", "later(lambda: obj.put_nowait(1)); await obj.get()", "await obj.put(1); await obj.get()"
    ),
    "PriorityQueue": (
        "asyncio.PriorityQueue()", "later(lambda: obj.put_nowait(1)); await obj.get()", "await obj.put(1); await obj.get()"
    ),
}

PRIMITIVE_SCRIPT = """
import asyncio, sys, warnings

warnings.simplefilter("ignore", DeprecationWarning)


def later(callback):
    asyncio.get_running_loop().call_later(0.01, callback)


async def hold_twice(obj):
    async def hold():
        async with obj:
            await asyncio.sleep(0.01)
    await asyncio.gather(hold(), hold())


async def wait_on(condition):
    async with condition:
        await condition.wait()


async def notify(condition):
    async with condition:
        condition.notify_all()


obj = {make}  # at import, as module-level code makes it


async def waits():
    {wait}


async def passes():
    {passes}


results = []
for use in sys.argv[1:]:
    try:
        asyncio.run(asyncio.wait_for(waits() if use == "wait" else passes(), 5))
        results.append("ok")
    except RuntimeError as error:
        results.append(str(error))
print(repr(results))
"""


def primitive_runs(python: str, name: str, *uses: str) -> list[str]:
    make, wait, passes = PRIMITIVE_USES[name]
    script = PRIMITIVE_SCRIPT.format(make=make, wait=wait, passes=passes or "pass")
    completed = subprocess.run([python, "-c", script, *uses], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return ast.literal_eval(completed.stdout)


def test_every_primitive_the_catalogue_knows_has_its_uses_here():
    names = {primitive.name for primitive in Catalogue.load().primitives.values()}
    assert names == {*PRIMITIVE_USES, "Future"}


@pytest.mark.parametrize("name", sorted(PRIMITIVE_USES))
def test_a_primitive_fails_under_a_second_loop_only_once_tasks_waited_under_two(python, name):
    primitive = next(p for p in Catalogue.load().primitives.values() if p.name == name)
    if primitive.since and version_of(python) < tuple(map(int, primitive.since.split("."))):
        pytest.skip(f"no asyncio.{name} before {primitive.since}")
    assert primitive.fails_once.startswith("once tasks have")
    first, second = primitive_runs(python, name, "wait", "wait")
    assert first == "ok" and primitive.error in second
    if PRIMITIVE_USES[name][2] is not None:  # a Barrier of two parties always waits
        assert primitive_runs(python, name, "wait", "pass") == ["ok", "ok"]
        assert primitive_runs(python, name, "pass", "wait") == ["ok", "ok"]


FUTURE_SCRIPT = """
import asyncio, warnings

warnings.simplefilter("ignore", DeprecationWarning)
future = asyncio.Future()  # at import: the loop current then


async def main():
    asyncio.get_running_loop().call_soon(lambda: future.done() or future.set_result(1))
    await future

try:
    asyncio.run(main())
    print("ok")
except RuntimeError as error:
    print(error)
"""


def test_a_future_made_at_import_fails_under_the_first_loop_that_awaits_it_unfinished(python):
    primitive = next(p for p in Catalogue.load().primitives.values() if p.name == "Future")
    completed = subprocess.run([python, "-c", FUTURE_SCRIPT], capture_output=True, text=True, timeout=60)
    assert primitive.error in completed.stdout, completed.stdout + completed.stderr
    assert primitive.fails_once.startswith("when awaiting it unfinished")


def version_of(python: str) -> tuple[int, int]:
    completed = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, timeout=60
    )
    major, minor = completed.stdout.split()
    return int(major), int(minor)
