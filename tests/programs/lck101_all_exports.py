# Imports itself with `from ... import *` where `__all__` lists the private `_lock` and `_shared`;
# the per-loop fixes renamed them away, and the star import failed with AttributeError.
# loopcheck-program: findings = LCK101, LCK104
import asyncio
import importlib.util
import sys

__all__ = ["_lock", "_shared", "get_shared", "guarded"]

_lock = asyncio.Lock()
_shared = None


def get_shared():
    global _shared
    if _shared is None:
        _shared = asyncio.Lock()
    return _shared


async def guarded(value):
    async with _lock:
        async with get_shared():
            return value * 2


if __name__ == "__main__":
    spec = importlib.util.spec_from_file_location("exporter", __file__)
    module = importlib.util.module_from_spec(spec)
    sys.modules["exporter"] = module
    spec.loader.exec_module(module)
    namespace = {}
    exec("from exporter import *", namespace)
    print(sorted(name for name in namespace if not name.startswith("__")))
    print(asyncio.run(namespace["guarded"](21)))
    print(asyncio.run(guarded(2)))
