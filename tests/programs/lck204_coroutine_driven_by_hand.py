# A synchronous facade drives a coroutine by hand (no loop runs), and the coroutine calls
# asyncio.run() for its steps, which works there; the fix awaits the steps and must print the same.
# loopcheck-program: findings = LCK204
import asyncio

PRICES = {"apple": 3, "pear": 5}


def run_sync(coroutine):
    """Runs a coroutine that never waits on a loop, without one."""
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return stop.value


async def price(item):
    return PRICES[item]


async def total(items):
    result = 0
    for item in items:
        result += asyncio.run(price(item))
    return result


print("total:", run_sync(total(["apple", "pear", "pear"])))
