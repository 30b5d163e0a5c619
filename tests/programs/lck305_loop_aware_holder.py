# A module-level instance keeps a Redis client made in __init__ and closes it itself; the application's run helper closes its loop by hand. The LCK305 fix makes the attribute a property keeping a client per loop: every read, the instance's own close() included, must work as before, nothing left pending.
# loopcheck-program: findings = LCK305, LCK201
import asyncio
import gc
import sys
import types


class StandInRedis:
    """Binds to the loop that first makes a task wait on it (its queue does), as redis.asyncio's
    pool binds to its loop; closing twice is harmless, as it is for redis.asyncio."""

    def __init__(self, url):
        self.url = url
        self.queue = asyncio.Queue()
        self.closed = False

    async def publish(self, channel, message):
        await self.queue.put((channel, message))

    async def next_message(self):
        return await self.queue.get()

    async def aclose(self):
        await asyncio.sleep(0)
        self.closed = True


# Installed under redis.asyncio's name (the program needs no server), so that its client is the
# one loopcheck knows.
_package, _module = types.ModuleType("redis"), types.ModuleType("redis.asyncio")
_module.from_url = StandInRedis
_package.asyncio = _module
sys.modules.update({"redis": _package, "redis.asyncio": _module})

import redis.asyncio as redis  # noqa: E402


class RedisClient:
    def __init__(self, url):
        self.url = url
        # One connection pool for the whole application.
        self._client = redis.from_url(self.url)

    async def publish(self, channel, message):
        await self._client.publish(channel, message)

    async def listen(self):
        return await self._client.next_message()

    async def close(self):
        await self._client.aclose()
        return self._client.closed


redis_client = RedisClient("redis://127.0.0.1:6379/0")


async def main():
    listener = asyncio.ensure_future(redis_client.listen())  # waits first: the queue binds
    await redis_client.publish("progress", "50%")
    print("heard:", await listener)
    print("closed by the application:", await redis_client.close())


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
