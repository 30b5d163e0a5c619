"""Scheduler jobs written the way the incidents behind loopcheck were: sync jobs run in a thread
pool drive coroutines on a loop kept by hand, or on whatever get_event_loop() returns.

Try it:  python examples/scheduler.py        (both jobs fail)
         loopcheck examples/scheduler.py     (the findings)
         loopcheck --diff --unsafe-fixes examples/scheduler.py
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

# One loop for the whole process, reused by every job.
_worker_loop = None
_started = threading.Event()


def get_worker_loop():
    global _worker_loop
    if _worker_loop is None:
        _worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker_loop)
    return _worker_loop


async def sync_prices():
    _started.set()
    await asyncio.sleep(0.1)
    return "prices synced"


def prices_job():
    return get_worker_loop().run_until_complete(sync_prices())


def report_job():
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(asyncio.sleep(0, result="report sent"))


if __name__ == "__main__":
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(prices_job)
        _started.wait(5)
        jobs = [("prices", first), ("prices again", pool.submit(prices_job))]
        jobs.append(("report", pool.submit(report_job)))
        for name, job in jobs:
            try:
                print(name, "->", job.result())
            except RuntimeError as error:
                print(name, "-> RuntimeError:", error)
