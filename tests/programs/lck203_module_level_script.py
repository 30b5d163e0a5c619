# A script that runs its work at module level on the current loop, closing it in a `finally`. The module's own `loop` global has one binding, so LCK203 must fix it as it fixes the same code in a function: asyncio.run() runs the work once and the output is the same.
# loopcheck-program: findings = LCK203
import asyncio


async def fetch(name):
    await asyncio.sleep(0)
    return f"fetched {name}"


async def main():
    return await asyncio.gather(fetch("prices"), fetch("volumes"))


asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
try:
    print(loop.run_until_complete(main()))
finally:
    loop.close()
print("done")
