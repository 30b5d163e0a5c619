# Starts a watcher in the default executor of the thread's loop and releases it after the run; the unsafe LCK203 fix turned the run into asyncio.run(), which waits for the default executor's threads when it ends, so the program hung.
# loopcheck-program: findings = LCK203
import asyncio
import threading

release = threading.Event()


async def start_watcher():
    asyncio.get_running_loop().run_in_executor(None, release.wait)
    await asyncio.sleep(0)
    return "watching"


def main():
    asyncio.set_event_loop(asyncio.new_event_loop())
    print(asyncio.get_event_loop().run_until_complete(start_watcher()))
    release.set()
    print("released")


if __name__ == "__main__":
    main()
