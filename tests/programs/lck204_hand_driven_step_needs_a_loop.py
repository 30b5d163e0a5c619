# A coroutine driven by hand (no loop runs) runs a step that sleeps with asyncio.run(), which
# works there; the fix awaits the step instead, and the step then finds no running loop.
# loopcheck-program: findings = LCK204
import asyncio

def run_sync(coroutine):
    """Runs a coroutine that never waits on a loop itself, without one."""
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return stop.value

async def step(number):
    await asyncio.sleep(0.001)
    return number * 2

async def collect(count):
    results = []
    for number in range(count):
        results.append(asyncio.run(step(number)))
    return results

print("steps:", run_sync(collect(3)))
