"""The per-loop clients the LCK3xx fixes generate are closed whenever their loop ends, however it
ends: at the loop's shutdown under asyncio.run(), and, for a loop an application closes by hand
(`loop.run_until_complete(...)` then `loop.close()`), on the next access from another loop,
leaving no task pending anywhere. Each shape's fixed program runs under every supported
interpreter found on the machine with a stand-in client that binds to its loop (an asyncio.Queue)
and records its close(), which takes a real wait: a close run as a task of the accessing loop is
still pending when that loop, too, is closed by hand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loopcheck.engine.engine import Linter
from loopcheck.rules import all_rules
from tests.helpers import fix_text, write

# Installed as redis.asyncio, so the client is one loopcheck's catalogue knows; the program needs
# no server.
STAND_IN = '''\
import asyncio
import sys
import threading
import types

CLOSED = []
THREADS = []


class CountedThread(threading.Thread):
    """Counts the threads the fixed code starts (the generated code reads threading.Thread)."""

    def start(self):
        THREADS.append(self)
        super().start()


threading.Thread = CountedThread


class StandInRedis:
    """Binds to the loop that first uses it (its queue does), as redis.asyncio's pool does."""

    def __init__(self, url):
        self.url = url
        self.queue = asyncio.Queue()

    async def set(self, key, value):
        await self.queue.put((key, value))

    async def get(self, key):
        return (await self.queue.get())[1]

    async def aclose(self):
        await asyncio.sleep(0.01)  # a close that needs the loop for a while, as a socket's does
        CLOSED.append(self.url)


module = types.ModuleType("redis.asyncio")
module.from_url = StandInRedis
package = types.ModuleType("redis")
package.asyncio = module
sys.modules.update({"redis": package, "redis.asyncio": module})
'''

# Three runs on loops closed by hand (the application's own run helper), then two asyncio.run().
RUNS = '''

def run_by_hand(coroutine):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def task(value):
    return await asyncio.gather(READ_CALL, WRITE_CALL)  # the read waits: the queue binds to the loop


for value in range(3):
    print(run_by_hand(task(value)))
print(asyncio.run(task(3)))
print(asyncio.run(task(4)))
gc.collect()
print("closed", len(stand_in.CLOSED), "in threads", len(stand_in.THREADS))
'''

HEADER = "import asyncio\nimport gc\n\nimport stand_in  # noqa: F401\nimport redis.asyncio as redis\n"

SHAPES = {
    # LCK301: a module-level client two coroutines use.
    "module global": (
        HEADER + '\n_store = redis.from_url("redis://a")\n\n\n'
        "async def write(value):\n    await _store.set('k', value)\n\n\n"
        "async def read():\n    return await _store.get('k')\n",
        "write(value)",
        "read()",
    ),
    # LCK302: a client made in a class body.
    "class attribute": (
        HEADER + '\n\nclass Store:\n    client = redis.from_url("redis://a")\n\n'
        "    async def write(self, value):\n        await self.client.set('k', value)\n\n"
        "    async def read(self):\n        return await self.client.get('k')\n",
        "Store().write(value)",
        "Store().read()",
    ),
    # LCK305: a module-level instance whose __init__ makes the client (the redis_client shape).
    "shared instance": (
        HEADER + '\n\nclass RedisClient:\n    def __init__(self):\n        self._client = redis.from_url("redis://a")\n\n'
        "    async def write(self, value):\n        await self._client.set('k', value)\n\n"
        "    async def read(self):\n        return await self._client.get('k')\n\n\n"
        "redis_client = RedisClient()\n",
        "redis_client.write(value)",
        "redis_client.read()",
    ),
}
CODES = {"module global": "LCK301", "class attribute": "LCK302", "shared instance": "LCK305"}


def program(shape: str) -> str:
    source, write_call, read_call = SHAPES[shape]
    return source + RUNS.replace("WRITE_CALL", write_call).replace("READ_CALL", read_call)


def fixed(source: str, code: str) -> str:
    # Only the client rule: the hand-closed loops must stay as the application wrote them.
    linter = Linter([all_rules()[code]], target_version=(3, 10), candidate_stage=False)
    outcome = fix_text(linter, source, "program.py", unsafe=True)
    assert outcome.fixed == 1, outcome
    return outcome.source


def run(python: str, directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        # Every ResourceWarning shown (not -X dev: its slow-callback log would report the wait for
        # a close under a loaded machine).
        [python, "-W", "always::ResourceWarning", "program.py"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_shared_client_fails_under_the_second_loop(shape, python, tmp_path):
    write(tmp_path / "stand_in.py", STAND_IN)
    write(tmp_path / "program.py", program(shape))
    done = run(python, tmp_path)
    assert done.returncode != 0 and "is bound to a different event loop" in done.stderr, done.stderr


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_loops_client_is_closed_however_the_loop_ends(shape, python, tmp_path):
    write(tmp_path / "stand_in.py", STAND_IN)
    write(tmp_path / "program.py", fixed(program(shape), CODES[shape]))
    done = run(python, tmp_path)
    assert done.returncode == 0, done.stderr
    # Nothing destroyed pending, swallowed or left unclosed.
    assert done.stderr == ""
    # The clients of the three hand-closed loops, each closed on the next loop's first access in
    # a thread of its own, and those of the asyncio.run() loops, closed at their shutdown (the
    # second run finds the first one's client closed already: no thread).
    assert done.stdout.splitlines() == [
        "[0, None]", "[1, None]", "[2, None]", "[3, None]", "[4, None]", "closed 5 in threads 3"
    ]
