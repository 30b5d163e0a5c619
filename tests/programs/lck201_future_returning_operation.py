# Runs an operation of a Motor-like client, whose methods return a Future bound to the current loop, on a private loop; the safe LCK201 fix turned it into asyncio.run(operation_func(*args)), which refuses Futures ("a coroutine was expected").
# loopcheck-program: findings = LCK201
# loopcheck-program: unsafe-effect = a coroutine was expected
import asyncio


class Collection:
    """Like a Motor collection: each method returns a Future of the current loop, not a
    coroutine."""

    def __init__(self, rows):
        self.rows = rows

    def find_one(self, key):
        loop = asyncio.get_event_loop()
        future = loop.create_future()
        loop.call_soon(future.set_result, self.rows.get(key))
        return future


def run_operation(operation_func, *args):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(operation_func(*args))
    loop.close()
    return result


if __name__ == "__main__":
    users = Collection({"ada": {"name": "Ada"}})
    print(run_operation(users.find_one, "ada"))
