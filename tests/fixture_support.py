"""Helpers the fixtures' exercises share: the ways real services run code (a thread pool job, two
overlapping tasks of a threaded worker, a thread that ends). Standard library only: the runtime
harness puts this module on the path of every interpreter of the matrix."""

import gc
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor


def in_worker_thread(function, *args):
    """Run ``function`` in a thread pool's worker, as a scheduler or executor job runs."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def in_a_thread_that_ends(function, *args):
    """Run ``function`` in a thread that then ends, with ResourceWarnings raised: a loop the
    thread left open says so when the thread's last reference to it goes."""
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        thread = threading.Thread(target=lambda: results.append(function(*args)))
        thread.start()
        thread.join()
        del thread
        gc.collect()
    return results[0] if results else None


def run_in_two_threads(task, *args, started=None):
    """What a threaded worker pool does: a second task starts while the first one runs.
    ``started`` (a threading.Event the task sets once it runs) says when."""
    started = started or threading.Event()
    errors = []

    def first():
        try:
            task(*args)
        except Exception as error:
            errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(5)
    try:
        task(*args)
    finally:
        thread.join()
    if errors:
        raise errors[0]


def run_on_a_loop_closed_by_hand(coroutine):
    """What an application's own run helper does: a new loop runs ``coroutine`` and is closed,
    without asyncio.run()'s shutdown (no task cancelled, no async generator closed)."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
