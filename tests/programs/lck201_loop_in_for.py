# Runs two steps on one private loop, the first starting a background task that the second awaits; the safe LCK201 fix gave each iteration of the `for` its own asyncio.run() loop, which cancelled the task at the end of the first step (CancelledError).
# loopcheck-program: findings = LCK201
import asyncio

pending = []


async def background(results):
    await asyncio.sleep(0)
    results.append("background done")


async def step(number, results):
    if number == 0:
        pending.append(asyncio.ensure_future(background(results)))
        return "started"
    await pending[0]
    return "joined"


def main():
    results = []
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for number in range(2):
        print(loop.run_until_complete(step(number, results)))
    loop.close()
    print(results)


if __name__ == "__main__":
    main()
