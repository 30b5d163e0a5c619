# Helpers that build, run and close a loop per call (with try/finally, contextlib.closing and a
# plain sequence), called twice each; the fix runs each call with asyncio.run() and must print the same.
# loopcheck-program: findings = LCK201
import asyncio
import contextlib


async def double(number):
    await asyncio.sleep(0)
    return number * 2


async def collect(limit):
    async def numbers():
        for number in range(limit):
            await asyncio.sleep(0)
            yield number

    return [number async for number in numbers()]


def doubled(number):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(double(number))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def collected(limit):
    with contextlib.closing(asyncio.new_event_loop()) as loop:
        asyncio.set_event_loop(loop)
        result = loop.run_until_complete(collect(limit))
    asyncio.set_event_loop(None)
    return result


def plain(number):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(double(number))
    loop.close()
    asyncio.set_event_loop(None)
    return result


for call in range(2):
    print("doubled:", doubled(call + 1))
    print("collected:", collected(call + 2))
    print("plain:", plain(call + 3))
