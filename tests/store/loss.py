"""Losing a store's data (a flushed, restarted or failed-over Redis; a restarted process)."""

from __future__ import annotations

from authserver.store.base import Store


def lose_store_data(store: Store) -> None:
    """Delete every live key of this app's store through the Store API (Redis: its prefix)."""
    for key in store.scan(""):
        store.delete(key)
    assert store.scan("") == {}
