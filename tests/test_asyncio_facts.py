"""Claims the documentation and the generated fixes make about asyncio, checked on every
supported interpreter found on the machine."""

from __future__ import annotations

import subprocess

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
