# A service keeps a Redis client at module level and shuts down gracefully, waiting for every other task; the LCK301 fix's per-loop accessor used to start a closer task that never ended, so the shutdown hung.
# loopcheck-program: findings = LCK301
import asyncio
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


async def handle(number):
    await remember(f"request:{number}", number * number)
    return await recall(f"request:{number}")


async def main():
    background = [asyncio.create_task(handle(n)) for n in range(3)]
    print("handled:", await asyncio.gather(*background))
    # Graceful shutdown: wait for every task that is still running.
    current = asyncio.current_task()
    await asyncio.gather(*(asyncio.all_tasks() - {current}))
    print("shut down cleanly")


asyncio.run(main())
