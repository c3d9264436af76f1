"""In-process store: the embedded default for a single process.

A lock-guarded dict with expiry read from the injected clock. It is honest only
within one process; more than one process means Redis.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict

from authserver.clock import Clock


class MemorySubscription:
    def __init__(self, owner: MemoryStore, channel: str) -> None:
        self._owner = owner
        self._channel = channel
        self.queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def get_message(self, timeout: float) -> bytes | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._owner._unsubscribe(self._channel, self)


class MemoryStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float]] = {}
        self._subscribers: dict[str, list[MemorySubscription]] = defaultdict(list)

    def _live(self, key: str) -> bytes | None:
        """Caller holds the lock."""
        item = self._data.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at <= self._clock.time():
            del self._data[key]
            return None
        return value

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key)

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        with self._lock:
            return [self._live(key) for key in keys]

    def scan(self, prefix: str) -> dict[str, bytes]:
        with self._lock:
            found = {key: self._live(key) for key in list(self._data) if key.startswith(prefix)}
        return {key: value for key, value in found.items() if value is not None}

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            self._data[key] = (value, self._clock.time() + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def first_use(self, key: str, ttl: float, value: bytes = b"1") -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, self._clock.time() + ttl)
            return True

    def first_use_then_get(self, key: str, ttl: float, then: str) -> tuple[bool, bytes | None]:
        with self._lock:
            first = self._live(key) is None
            if first:
                self._data[key] = (b"1", self._clock.time() + ttl)
            return first, self._live(then)

    def consume(self, key: str) -> bytes | None:
        with self._lock:
            value = self._live(key)
            self._data.pop(key, None)
            return value

    def incr_window(self, key: str, window: float) -> int:
        with self._lock:
            current = self._live(key)
            if current is None:
                self._data[key] = (b"1", self._clock.time() + window)
                return 1
            count = int(current) + 1
            self._data[key] = (str(count).encode(), self._data[key][1])
            return count

    def publish(self, channel: str, message: bytes) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(channel, ()))
        for subscription in subscribers:
            subscription.queue.put(message)

    def subscribe(self, channel: str) -> MemorySubscription:
        subscription = MemorySubscription(self, channel)
        with self._lock:
            self._subscribers[channel].append(subscription)
        return subscription

    def _unsubscribe(self, channel: str, subscription: MemorySubscription) -> None:
        with self._lock:
            if subscription in self._subscribers.get(channel, []):
                self._subscribers[channel].remove(subscription)

    def ping(self) -> None:
        return None
