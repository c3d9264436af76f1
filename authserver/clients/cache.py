"""A per-process cache of client registrations, invalidated through the store's pub/sub.

Why: every request at /token, /par, /introspect and /revoke authenticates its client,
and reading the registration is a SQL round trip each time (issue 15). Registrations
change rarely (today: disable), so each process keeps them for ``ttl`` seconds.

Why it stays correct:
- A change is announced on the store's ``clients`` channel after its commit; a daemon
  thread in every process listens and drops the entry, so a disabled client is refused
  everywhere within milliseconds.
- While that listener is not known to be healthy (starting, reconnecting, silent for
  longer than ``store.listener.STALE_SECONDS``), nothing is served from the cache: SQL is read.
- A read that raced an invalidation is not kept (a generation counter), so a stale row
  read just before the announcement cannot be cached after it.
- The in-process store reaches no other process (``authserver clients disable`` runs in
  its own), so there the time to live is ``MEMORY_STORE_TTL`` (one second) at most.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from authserver.clients.models import Client
from authserver.store.base import Store
from authserver.store.listener import StoreListener
from authserver.store.memory import MemoryStore

log = structlog.get_logger(__name__)

CHANNEL = "clients"
# The in-process store cannot carry another process's announcement: one second at most.
MEMORY_STORE_TTL = 1.0
_COLUMNS = tuple(column.key for column in Client.__table__.columns)

Load = Callable[[str], Client | None]


def detached_copy(row: Client) -> Client:
    """A copy bound to no session: shared read-only by threads, never expired or reloaded."""
    return Client(**{name: getattr(row, name) for name in _COLUMNS})


class ClientChanges:
    """Announces that a client's registration changed (after the change is committed)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._local: list[Callable[[str], None]] = []

    def also_apply_locally(self, drop: Callable[[str], None]) -> None:
        """This process's cache forgets at once, not only when its listener hears it."""
        self._local.append(drop)

    def announce(self, client_id: str) -> None:
        for drop in self._local:
            drop(client_id)
        self._store.publish(CHANNEL, client_id.encode())


@dataclass(frozen=True)
class _Entry:
    client: Client
    until: float


class ClientCache:
    def __init__(self, load: Load, store: Store, changes: ClientChanges, ttl: float) -> None:
        self._load = load
        self._store = store
        self._ttl = min(ttl, MEMORY_STORE_TTL) if isinstance(store, MemoryStore) else ttl
        self._entries: dict[str, _Entry] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._listener = StoreListener(
            store,
            CHANNEL,
            name="client-cache",
            on_start=self._entries.clear,
            # Whatever changed while nobody listened is forgotten.
            on_subscribed=self._clear,
            on_message=lambda message: self.drop(message.decode("utf-8", "replace")),
        )
        changes.also_apply_locally(self.drop)

    def get(self, client_id: str) -> Client | None:
        """The registration, from the cache when it can be trusted, else from SQL."""
        if self._ttl <= 0:
            return self._load(client_id)
        self._ensure_listening()
        now = time.monotonic()
        entry = self._entries.get(client_id)
        if entry is not None and entry.until > now and self.listening:
            return entry.client
        generation = self._generation
        row = self._load(client_id)
        if row is None:
            return None  # unknown ids are not cached: nobody can fill memory with them
        client = detached_copy(row)
        with self._lock:
            if generation == self._generation:
                self._entries[client_id] = _Entry(client, now + self._ttl)
        return client

    @property
    def listening(self) -> bool:
        """True while announcements are known to arrive (the cache may then be trusted)."""
        return self._listener.healthy

    def wait_until_listening(self, timeout: float) -> bool:
        """Start the listener and wait until it is subscribed (tests, start-up)."""
        return self._listener.wait_until_healthy(timeout)

    def drop(self, client_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(client_id, None)

    def _clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    # -- the listener -------------------------------------------------------------------

    def _ensure_listening(self) -> None:
        self._listener.ensure_started()

    def close(self) -> None:
        self._listener.close()
