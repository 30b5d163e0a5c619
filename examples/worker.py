"""A Celery-style worker written the way the incidents behind loopcheck were: each task runs its
own event loop, and the asyncio objects below outlive them all.

Try it:  python examples/worker.py          (the second task fails)
         loopcheck examples/worker.py       (the findings)
         loopcheck --diff --unsafe-fixes examples/worker.py
"""

import asyncio


class ConfigLoader:
    # Guards the one-time configuration load.
    _lock = asyncio.Lock()

    def load(self):
        with self._lock:
            return {"redis_url": "redis://localhost"}


# Serialises token refreshes.
_refresh_lock = asyncio.Lock()
_jobs = asyncio.Queue()


async def refresh_token(name):
    async with _refresh_lock:
        await asyncio.sleep(0.01)
        return f"token for {name}"


async def handle(name):
    async def produce():
        await asyncio.sleep(0.01)
        _jobs.put_nowait(name)

    job, _ = await asyncio.gather(_jobs.get(), produce())
    tokens = await asyncio.gather(refresh_token(job), refresh_token(job))
    return tokens[0]


def task(name):
    """What a Celery task does: one asyncio.run() per call."""
    return asyncio.run(handle(name))


if __name__ == "__main__":
    for name in ("first", "second"):
        try:
            print(name, "->", task(name))
        except RuntimeError as error:
            print(name, "-> RuntimeError:", error)
