# A module-level instance makes its Redis client in __init__ from the URL it is given, which it also keeps in `self._url`; two asyncio.run() calls use it. The LCK305 fix's property makes each loop's client again from `self._url` (the parameter itself is gone by then), so both runs must hear their messages as before.
# loopcheck-program: findings = LCK305
import asyncio
import sys
import types


class StandInRedis:
    """Binds to the loop that first makes a task wait on it (its queue does), as redis.asyncio's
    pool binds to its loop."""

    def __init__(self, url, decode):
        self.url, self.decode = url, decode
        self.queue = asyncio.Queue()

    async def publish(self, channel, message):
        await self.queue.put((channel, message.encode()))

    async def next_message(self):
        channel, raw = await self.queue.get()
        return channel, self.decode(raw)

    async def aclose(self):
        await asyncio.sleep(0)


# Installed under redis.asyncio's name (the program needs no server), so that its client is the
# one loopcheck knows.
_package, _module = types.ModuleType("redis"), types.ModuleType("redis.asyncio")
_module.from_url = StandInRedis
_package.asyncio = _module
sys.modules.update({"redis": _package, "redis.asyncio": _module})

import redis.asyncio as redis  # noqa: E402


class Notifier:
    def __init__(self, url):
        self._url = url
        self._client = redis.from_url(url, decode=lambda raw: raw.decode())

    async def publish(self, channel, message):
        await self._client.publish(channel, message)

    async def listen(self):
        return await self._client.next_message()

    def describe(self):
        return f"notifier for {self._url}"


notifier = Notifier("redis://127.0.0.1:6379/0")


async def main(message):
    listener = asyncio.ensure_future(notifier.listen())  # waits first: the queue binds
    await notifier.publish("progress", message)
    print("heard:", await listener)


print(notifier.describe())
for message in ("first run", "second run"):
    try:
        asyncio.run(main(message))
    except RuntimeError as error:
        print("failed:", error)
print("done")
