# Starts a watcher in the default executor that the program releases after the loop is closed; the safe LCK201 fix made asyncio.run() wait for the default executor's threads when it ends, so the program hung.
# loopcheck-program: findings = LCK201
import asyncio
import threading

release = threading.Event()


async def start_watcher():
    asyncio.get_running_loop().run_in_executor(None, release.wait)
    await asyncio.sleep(0)
    return "watching"


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        print(loop.run_until_complete(start_watcher()))
    finally:
        loop.close()
    release.set()
    print("released")


if __name__ == "__main__":
    main()
