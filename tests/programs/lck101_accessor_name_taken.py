# Counts refreshes under a module lock in coroutines that keep locals named `_get_lock` and
# `_get_cache_lock`; the per-loop fix called its accessor by those names ('int' is not callable).
# loopcheck-program: findings = LCK101, LCK102, LCK103
import asyncio

_lock = asyncio.Lock()


class Cache:
    _lock = asyncio.Lock()
    hits = 0

    async def hit(self):
        _get_cache_lock = 1
        async with self._lock:
            await asyncio.sleep(0)
            Cache.hits += _get_cache_lock
            return [Cache.hits for _get_cache_lock in range(1)]


async def refresh(times):
    _get_lock = times
    async with _lock:
        await asyncio.sleep(0)
        return _get_lock * 10


async def poll(rounds, ready=asyncio.Event()):
    _get_poll_ready = rounds
    ready.set()
    await ready.wait()
    return _get_poll_ready


async def main():
    print(await asyncio.gather(refresh(1), refresh(2)))
    print(await Cache().hit())
    print(await poll(3))


asyncio.run(main())
