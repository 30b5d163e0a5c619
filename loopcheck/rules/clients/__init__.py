"""LCK3xx: async clients (aiohttp, httpx, redis.asyncio, ...) created once and shared by every
event loop. ``base`` holds what the family shares."""
