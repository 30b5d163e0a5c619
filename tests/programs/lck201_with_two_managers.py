# Reads a buffer inside the `with` that also closes a private loop; the safe LCK201 fix unwrapped the whole `with`, dropping `io.StringIO(...) as fh` (NameError: name 'fh' is not defined).
# loopcheck-program: findings = LCK201
import asyncio
import contextlib
import io


async def checksum(text):
    await asyncio.sleep(0)
    return sum(map(ord, text)) % 251


def main():
    with contextlib.closing(asyncio.new_event_loop()) as loop, io.StringIO("data") as fh:
        asyncio.set_event_loop(loop)
        total = loop.run_until_complete(checksum(fh.read()))
    print("checksum", total)
    print("buffer closed:", fh.closed)


if __name__ == "__main__":
    main()
