"""LCK1xx: asyncio primitives (Lock, Queue, Event, ...) created once and shared by every event
loop. ``base`` holds what the family shares."""
