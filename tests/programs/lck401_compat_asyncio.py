# Uses a framework's `asyncio` helpers module (imported as `asyncio`) next to the standard library's get_event_loop; the LCK401 fix added a stdlib `import asyncio` that the later import overrode and wrote `asyncio.get_running_loop()`: AttributeError.
# loopcheck-program: findings = LCK401
import sys
import types
from asyncio import get_event_loop, run, sleep

# The framework's compatibility module, built here so that the program stands alone: its
# `asyncio` is a namespace of helpers, as Tornado's and Django's asyncio helper modules are.
_compat = types.ModuleType("compat_asyncio")
_compat.asyncio = types.SimpleNamespace(pause=lambda: sleep(0), name="compat helpers")
sys.modules["compat_asyncio"] = _compat

from compat_asyncio import asyncio  # noqa: E402


async def elapsed_ticks():
    loop = get_event_loop()
    start = loop.time()
    await asyncio.pause()
    return loop.time() >= start


async def main():
    print("helpers:", asyncio.name)
    print("time moves forward:", await elapsed_ticks())


run(main())
