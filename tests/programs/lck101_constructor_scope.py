# Sizes semaphores from a class body's variable, an enclosing function's argument and a module
# global rebound further down; the per-loop fixes moved each constructor into an accessor that
# runs later, elsewhere (NameError, or a semaphore of the later size).
# loopcheck-program: findings = LCK101, LCK102, LCK103
import asyncio

size = 1
_gate = asyncio.Semaphore(size)
size = 5


class Pool:
    width = 2
    slots = asyncio.Semaphore(width)

    async def free(self):
        async with self.slots:
            return self.slots._value


class Fetcher:
    limit = 3

    async def fetch(self, sem=asyncio.Semaphore(limit)):
        async with sem:
            return sem._value


def make_fetch(n):
    async def fetch(sem=asyncio.Semaphore(n)):
        async with sem:
            return sem._value

    return fetch


async def main():
    async with _gate:
        print("gate", _gate._value)
    print("pool", await Pool().free())
    print("fetcher", await Fetcher().fetch())
    print("nested", await make_fetch(5)())


asyncio.run(main())
