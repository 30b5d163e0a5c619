"""LCK2xx: event loops built, kept, nested or run by hand where ``asyncio.run()`` or ``await``
belongs."""
