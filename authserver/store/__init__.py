"""Short-lived shared state: one small interface, a Redis twin and an in-process twin.

PAR requests, replay caches, nonces, revocation events, rate limits and
idempotency records live here. Every single-use operation is atomic (``SET NX``,
``GETDEL``), never find-then-save. When Redis is configured and unreachable the
store raises ``StoreUnavailableError`` (503); nothing falls back to memory.
"""

from authserver.store.base import Store
from authserver.store.base import Subscription
from authserver.store.errors import StoreUnavailableError
from authserver.store.factory import build_store

__all__ = ["Store", "StoreUnavailableError", "Subscription", "build_store"]
