# A job makes its loop current, then passes a Future created on it (outside the run) to the
# coroutine it runs; asyncio.run() runs the coroutine on another loop, to which the Future does
# not belong: "attached to a different loop".
# loopcheck-program: findings = LCK201
import asyncio


async def settle(value, future):
    future.get_loop().call_soon(future.set_result, value)
    return await future


def job(value):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(settle(value, asyncio.Future()))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


print("job:", job(1), job(2))
