# Coroutines that fetch their loop with get_event_loop() to make futures, schedule callbacks and
# use the default executor; the fix asks get_running_loop() instead and must print the same.
# loopcheck-program: findings = LCK401
import asyncio


def square(number):
    return number * number


async def later(value):
    loop = asyncio.get_event_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, value)
    return await future


async def in_executor(number):
    return await asyncio.get_event_loop().run_in_executor(None, square, number)


async def same_loop():
    return asyncio.get_event_loop() is asyncio.get_running_loop()


async def main():
    print("later:", await later("ready"))
    print("executor:", await asyncio.gather(*(in_executor(n) for n in range(4))))
    print("same loop:", await same_loop())


asyncio.run(main())
asyncio.run(main())  # a second loop: nothing was kept from the first
