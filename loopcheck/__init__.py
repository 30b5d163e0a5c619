"""loopcheck: find asyncio objects shared across event loops, and fix them."""

__version__ = "0.1.0"
