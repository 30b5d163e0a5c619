# A worker runs its tasks' coroutines with run_async() on a kept loop; one task hands it an awaitable query object (not a coroutine), which asyncio.run() refuses, so the helper's asyncio.run(coro) fix stays unsafe and plain --fix leaves the program working.
# loopcheck-program: findings = LCK202
# loopcheck-program: unsafe-effect = a coroutine was expected
import asyncio

_worker_loop = None


def get_worker_loop():
    global _worker_loop
    if _worker_loop is None or _worker_loop.is_closed():
        _worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker_loop)
    return _worker_loop


def run_async(coro):
    return get_worker_loop().run_until_complete(coro)


class Query:
    """Like an ORM's lazy query set: awaitable, but not a coroutine."""

    def __init__(self, rows):
        self.rows = rows

    def __await__(self):
        yield from asyncio.sleep(0).__await__()
        return list(self.rows)


async def generate(user_id):
    await asyncio.sleep(0)
    return f"roadmap for {user_id}"


def generate_roadmap(user_id):
    return run_async(generate(user_id))


def list_users():
    return run_async(Query(["ada", "grace"]))


def on_worker_shutdown():
    global _worker_loop
    if _worker_loop is not None:
        _worker_loop.close()
        _worker_loop = None


if __name__ == "__main__":
    try:
        print(generate_roadmap(1))
        print(list_users())
    finally:
        on_worker_shutdown()
