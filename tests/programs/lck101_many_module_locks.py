# Twelve adjacent module-level locks, each guarding one counter under contention in one
# asyncio.run(); their unsafe fixes, applied several at a time and built from the changed
# statements only, must give the same counts.
# loopcheck-program: findings = LCK101
import asyncio

_lock_0 = asyncio.Lock()
_lock_1 = asyncio.Lock()
_lock_2 = asyncio.Lock()
_lock_3 = asyncio.Lock()
_lock_4 = asyncio.Lock()
_lock_5 = asyncio.Lock()
_lock_6 = asyncio.Lock()
_lock_7 = asyncio.Lock()
_lock_8 = asyncio.Lock()
_lock_9 = asyncio.Lock()
_lock_10 = asyncio.Lock()
_lock_11 = asyncio.Lock()
counts = [0] * 12


async def bump_0():
    async with _lock_0:
        await asyncio.sleep(0)
        counts[0] += 1


async def bump_1():
    async with _lock_1:
        await asyncio.sleep(0)
        counts[1] += 1


async def bump_2():
    async with _lock_2:
        await asyncio.sleep(0)
        counts[2] += 1


async def bump_3():
    async with _lock_3:
        await asyncio.sleep(0)
        counts[3] += 1


async def bump_4():
    async with _lock_4:
        await asyncio.sleep(0)
        counts[4] += 1


async def bump_5():
    async with _lock_5:
        await asyncio.sleep(0)
        counts[5] += 1


async def bump_6():
    async with _lock_6:
        await asyncio.sleep(0)
        counts[6] += 1


async def bump_7():
    async with _lock_7:
        await asyncio.sleep(0)
        counts[7] += 1


async def bump_8():
    async with _lock_8:
        await asyncio.sleep(0)
        counts[8] += 1


async def bump_9():
    async with _lock_9:
        await asyncio.sleep(0)
        counts[9] += 1


async def bump_10():
    async with _lock_10:
        await asyncio.sleep(0)
        counts[10] += 1


async def bump_11():
    async with _lock_11:
        await asyncio.sleep(0)
        counts[11] += 1


async def round_of_bumps(times):
    bumps = [bump_0, bump_1, bump_2, bump_3, bump_4, bump_5, bump_6, bump_7, bump_8, bump_9, bump_10, bump_11]
    await asyncio.gather(*(bump() for bump in bumps for _ in range(times)))
    return sum(counts)


if __name__ == "__main__":
    print("total:", asyncio.run(round_of_bumps(3)))
    print("counts:", counts)
