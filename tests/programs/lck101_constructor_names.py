# Sizes a semaphore, a queue and a limiter's slots from module globals named `loop`, `other` and
# `stale`; the per-loop fix's own variables of those names hid them (a loop compared with an int,
# UnboundLocalError).
# loopcheck-program: findings = LCK101, LCK105
import asyncio

loop = 2
other = 3
stale = 4

_slots = asyncio.Semaphore(loop)
_jobs = asyncio.Queue(maxsize=other + stale)


class Limiter:
    def __init__(self):
        self.slots = asyncio.Semaphore(loop + other)

    async def free(self):
        async with self.slots:
            return self.slots._value


limiter = Limiter()


async def main():
    async with _slots:
        print("semaphore", _slots._value)
    print("queue", _jobs.maxsize)
    print("limiter", await limiter.free())


asyncio.run(main())
asyncio.run(main())
