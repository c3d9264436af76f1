"""Which tier a client is on, for endpoints that know only its id (the resource servers).

The authorization server's endpoints hold the authenticated ``Client`` and read its tier
directly. A resource server sees only the token's ``client_id``: it looks the tier up
through the client registrations, remembering each answer for a short time so that a
limited request costs no extra SQL round trip. An unknown client gets the smallest tier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from authserver.clients.models import RATE_LIMIT_TIERS
from authserver.clients.models import Client

MAX_ENTRIES = 10_000
"""Bound on remembered tiers: client ids come from verified tokens, yet memory stays finite."""


class ClientTiers:
    def __init__(self, load: Callable[[str], Client | None], ttl: float = 60.0) -> None:
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, float]] = {}

    def tier_of(self, client_id: str) -> str:
        now = time.monotonic()
        found = self._entries.get(client_id)
        if found is not None and found[1] > now:
            return found[0]
        client = self._load(client_id)
        tier = client.rate_limit_tier if client is not None else RATE_LIMIT_TIERS[0]
        if self._ttl > 0:
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[client_id] = (tier, now + self._ttl)
        return tier
