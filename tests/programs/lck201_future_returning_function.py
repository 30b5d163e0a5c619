# A job runs what a plain function returns, a Future (as Motor's methods do), on a hand-built
# loop; asyncio.run() of that call refuses it: "a coroutine was expected".
# loopcheck-program: findings = LCK201
# loopcheck-program: unsafe-effect = a coroutine was expected
import asyncio


async def fetch(key):
    await asyncio.sleep(0)
    return key.upper()


def fetch_later(key):
    """Schedules the fetch on the current loop and returns its Future."""
    return asyncio.ensure_future(fetch(key))


def job(key):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(fetch_later(key))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


print("job:", job("a"), job("b"))
