"""Putting revocation facts into the store and onto the channel, after SQL has them.

Writes are idempotent (SET with a TTL, a watermark only ever moves forward in
every reader), so a retried revocation, or a rebuild racing a revocation, is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

from authserver.clock import Clock
from authserver.metrics import REVOCATIONS
from authserver.revocation.state import CHANNEL
from authserver.revocation.state import READY_KEY
from authserver.revocation.state import READY_TTL
from authserver.revocation.state import Revocation
from authserver.store.base import Store


class RevocationPublisher:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._local: list[Callable[[Revocation], None]] = []

    def also_apply_locally(self, apply: Callable[[Revocation], None]) -> None:
        """This process's view learns its own revocations at once, not from the channel:
        the client that got 200 from /revoke may call this same process next."""
        self._local.append(apply)

    def publish(self, facts: list[Revocation]) -> int:
        """Store each live fact for its remaining life, then announce it; returns how many.

        StoreUnavailableError propagates: the caller answers 503 and SQL keeps the record.
        """
        live = self._live(facts)
        self._write(live)
        for fact in live:
            self._store.publish(CHANNEL, fact.to_message())
            REVOCATIONS.labels(fact.kind).inc()
        return len(live)

    def store(self, facts: list[Revocation]) -> int:
        """Store without announcing (a rebuild: every listener reloads anyway)."""
        live = self._live(facts)
        self._write(live)
        return len(live)

    def _live(self, facts: list[Revocation]) -> list[Revocation]:
        now = self._clock.time()
        return [fact for fact in facts if fact.until > now]

    def _write(self, facts: list[Revocation]) -> None:
        now = self._clock.time()
        for fact in facts:
            self._store.set(fact.key, fact.value, ttl=max(fact.until - now, 0.001))
            for apply in self._local:
                apply(fact)

    def mark_ready(self) -> None:
        self._store.set(READY_KEY, b"1", ttl=READY_TTL)

    def is_ready(self) -> bool:
        return self._store.get(READY_KEY) is not None
