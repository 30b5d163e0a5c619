# A job makes its loop current and closes it without set_event_loop(None), so the closed loop
# stays current and later code sees it; the fix's asyncio.run() leaves no current loop, and
# asyncio.get_event_loop() then raises instead.
# loopcheck-program: findings = LCK201
# loopcheck-program: unsafe-effect = current loop: none
import asyncio


def job():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(asyncio.sleep(0, result="done"))
    finally:
        loop.close()


def current_loop():
    try:
        return "closed" if asyncio.get_event_loop().is_closed() else "open"
    except RuntimeError as error:
        return f"none ({error})"


print("job:", job())
print("current loop:", current_loop())
