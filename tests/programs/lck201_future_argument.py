# Passes a Future created in the argument of run_until_complete() while the private loop is current; the safe LCK201 fix moved its creation before asyncio.run() makes its loop, so the Future belonged to another loop ("got Future attached to a different loop").
# loopcheck-program: findings = LCK201
import asyncio


async def wait_for_signal(signal):
    asyncio.get_running_loop().call_soon(signal.set_result, "signalled")
    return await signal


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        print(loop.run_until_complete(wait_for_signal(asyncio.Future())))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


if __name__ == "__main__":
    main()
