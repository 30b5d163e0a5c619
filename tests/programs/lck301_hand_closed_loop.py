# An application's own run helper closes its loop by hand, with a module-level Redis client; the LCK301 fix's per-loop accessor used to leave a closer task pending there, which the closed loop logged as "Task was destroyed but it is pending!".
# loopcheck-program: findings = LCK301, LCK201
import asyncio
import gc
import sys
import types


class StandInRedis:
    """Binds to the loop that first uses it and refuses any other, as redis.asyncio's pool does."""

    def __init__(self, url):
        self.url = url
        self.loop = None
        self.data = {}

    def _bind(self):
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
        elif self.loop is not loop:
            raise RuntimeError("Event loop is closed")

    async def set(self, key, value):
        self._bind()
        await asyncio.sleep(0)
        self.data[key] = value

    async def get(self, key):
        self._bind()
        await asyncio.sleep(0)
        return self.data.get(key)

    async def aclose(self):
        self._bind()


# Installed under redis.asyncio's name (the program needs no server), so that its client is the
# one loopcheck knows.
_package, _module = types.ModuleType("redis"), types.ModuleType("redis.asyncio")
_module.from_url = StandInRedis
_package.asyncio = _module
sys.modules.update({"redis": _package, "redis.asyncio": _module})

import redis.asyncio as redis  # noqa: E402

_cache = redis.from_url("redis://127.0.0.1:6379/0")


async def remember(key, value):
    await _cache.set(key, value)


async def recall(key):
    return await _cache.get(key)


async def main():
    await remember("greeting", "hello")
    print("recalled:", await recall("greeting"))


def run_application():
    """The application's run helper: its own loop, closed by hand when the work is done."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


run_application()
gc.collect()  # whatever the closed loop left behind reports now, not at some later point
print("done")
