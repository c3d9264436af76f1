"""The store Protocols; Redis and in-process implementations satisfy them alike."""

from __future__ import annotations

from typing import Protocol


class Subscription(Protocol):
    def get_message(self, timeout: float) -> bytes | None:
        """Next message on the channel, or None after ``timeout`` seconds."""
        ...

    def close(self) -> None: ...


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        """Several values in one round trip, in the order asked."""
        ...

    def scan(self, prefix: str) -> dict[str, bytes]:
        """Every live key starting with ``prefix`` (prefix included) and its value.

        For start-up snapshots of small, TTL-bounded sets (revocations), not hot paths.
        """
        ...

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, replacing any previous value."""
        ...

    def delete(self, key: str) -> None: ...

    def first_use(self, key: str, ttl: float, value: bytes = b"1") -> bool:
        """Atomically record ``key`` if absent; True for exactly one caller (replay caches)."""
        ...

    def first_use_then_get(self, key: str, ttl: float, then: str) -> tuple[bool, bytes | None]:
        """``first_use(key, ttl)``, then ``get(then)`` read after it, in one round trip.

        A replay check spends a ``jti`` and then reads the replay epoch (``ReplayEpoch``);
        two round trips were a tenth of a token request's CPU (issue 15).
        """
        ...

    def consume(self, key: str) -> bytes | None:
        """Atomically read and delete (single-use values such as request_uris)."""
        ...

    def incr_window(self, key: str, window: float) -> int:
        """Increment a counter that resets ``window`` seconds after its first hit."""
        ...

    def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str) -> Subscription: ...

    def ping(self) -> None:
        """Raise StoreUnavailableError when the store cannot be reached."""
        ...
