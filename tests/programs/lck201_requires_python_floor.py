# Runs jobs on a private event loop that is never made the thread's current loop; when requires-python had no floor loopcheck could read (">3.9", ">=3"), the LCK201 fix targeted the running interpreter and wrote asyncio.run(..., loop_factory=...), a TypeError on 3.10.
# loopcheck-program: findings = LCK201
# loopcheck-program: target-version = py310
import asyncio


async def double(n):
    await asyncio.sleep(0)
    return n * 2


def run_privately(n):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(double(n))
    finally:
        loop.close()


print("results:", [run_privately(n) for n in range(3)])
