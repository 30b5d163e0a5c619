# Module-level primitives and a default-argument lock, each used by one asyncio.run() only; the
# per-loop accessors the unsafe fixes bring in must give the same results.
# loopcheck-program: findings = LCK101, LCK103
import asyncio

_lock = asyncio.Lock()
_ready = asyncio.Event()
_jobs = asyncio.Queue()
_slots = asyncio.Semaphore(2)
counts = {"inside": 0, "most": 0}


async def guarded(number, log):
    async with _lock:
        log.append(f"start {number}")
        await asyncio.sleep(0)
        log.append(f"end {number}")


async def waiter():
    await _ready.wait()
    return "event seen"


async def producer_consumer():
    for number in range(3):
        await _jobs.put(number)
    return [await _jobs.get() for _ in range(3)]


async def limited(number):
    async with _slots:
        counts["inside"] += 1
        counts["most"] = max(counts["most"], counts["inside"])
        await asyncio.sleep(0)
        counts["inside"] -= 1
        return number


async def append_once(log, guard=asyncio.Lock()):
    async with guard:
        log.append(len(log))


async def with_lock():
    log = []
    await asyncio.gather(*(guarded(n, log) for n in range(3)))
    return log


async def with_event():
    task = asyncio.ensure_future(waiter())
    await asyncio.sleep(0)
    _ready.set()
    return await task


async def with_semaphore():
    return await asyncio.gather(*(limited(n) for n in range(5)))


async def with_default_lock():
    log = []
    await asyncio.gather(*(append_once(log) for _ in range(3)))
    return log


print("lock:", asyncio.run(with_lock()))
print("event:", asyncio.run(with_event()))
print("queue:", asyncio.run(producer_consumer()))
print("semaphore:", asyncio.run(with_semaphore()), "at most", counts["most"], "inside")
print("default _lock:", asyncio.run(with_default_lock()))
