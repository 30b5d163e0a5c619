"""LCK4xx: the current loop looked up where there may be none or the wrong one, captured for
other threads, or reached from threads, executors and scheduler jobs."""
