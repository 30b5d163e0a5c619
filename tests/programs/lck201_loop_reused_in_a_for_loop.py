# One hand-built loop runs two steps in a for loop; the second step awaits the background task
# the first started. A fix giving each step its own asyncio.run() cancels that task in between.
# loopcheck-program: findings = LCK201
import asyncio

pending = []


async def start():
    pending.append(asyncio.ensure_future(asyncio.sleep(0.01, result="background done")))
    return "started"


async def finish():
    return await pending.pop()


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        for step in (start, finish):
            print(loop.run_until_complete(step()))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


main()
