"""Pick the store implementation from settings: Redis when configured, else in-process."""

from __future__ import annotations

from authserver.clock import Clock
from authserver.settings import Settings
from authserver.store.base import Store
from authserver.store.memory import MemoryStore
from authserver.store.redis import RedisStore


def build_store(settings: Settings, clock: Clock) -> Store:
    if settings.redis_url:
        return RedisStore(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryStore(clock)
