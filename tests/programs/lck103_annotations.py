# Waits on events and semaphores that default to shared objects, with a quoted annotation and
# code that must run on 3.9; the per-loop fix wrote `"asyncio.Event" | None` (TypeError when the
# def runs, on every Python) and `asyncio.Semaphore | None` (TypeError on 3.9).
# loopcheck-program: findings = LCK103
# loopcheck-program: target-version = py39
import asyncio


async def wait_ready(ready: "asyncio.Event" = asyncio.Event()):
    ready.set()
    await ready.wait()
    return "ready"


async def fetch(url, limit: asyncio.Semaphore = asyncio.Semaphore(1)):
    async with limit:
        await asyncio.sleep(0)
        return url


async def main():
    print(await wait_ready())
    print(await asyncio.gather(fetch("a"), fetch("b")))


asyncio.run(main())
