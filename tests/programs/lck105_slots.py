# Sends through a module-level manager whose class declares `__slots__`; the per-loop fix made
# the slotted attribute a property, and the class statement failed with ValueError.
# loopcheck-program: findings = LCK105
import asyncio


class Manager:
    __slots__ = ("lock", "sent")

    def __init__(self):
        self.lock = asyncio.Lock()
        self.sent = 0

    async def send(self, message):
        async with self.lock:
            await asyncio.sleep(0)
            self.sent += 1
            return f"{message} #{self.sent}"


manager = Manager()


async def main():
    print(await asyncio.gather(manager.send("a"), manager.send("b")))


asyncio.run(main())
