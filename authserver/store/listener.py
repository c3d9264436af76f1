"""One daemon thread per process that follows one pub/sub channel of the store.

The client cache and the revocation view both keep per-process state that other
processes change by announcing on the store. Both need the same care, kept here once:

- the thread is (re)started lazily and again after a fork (gunicorn workers inherit the
  object, not the thread);
- the state is trusted only while the listener is known to be subscribed and has polled
  within ``STALE_SECONDS`` (``healthy``); a failure marks it unhealthy and resubscribes
  after ``RETRY_SECONDS``, and the owner reloads what it may have missed
  (``on_subscribed``);
- ``close`` wakes the blocking read with an empty message instead of waiting out a poll.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable

import structlog

from authserver.store.base import Store
from authserver.store.base import Subscription

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.25
"""Longest blocking read: how soon the thread notices ``close`` or does its tick."""
STALE_SECONDS = 2.0
"""A listener that has not polled for this long is no longer trusted."""
RETRY_SECONDS = 0.5
"""Pause before resubscribing after a failure."""
WAKE = b""
"""The empty message ``close`` sends; owners ignore it."""


class StoreListener:
    def __init__(
        self,
        store: Store,
        channel: str,
        *,
        name: str,
        on_subscribed: Callable[[], None],
        on_message: Callable[[bytes], None],
        on_tick: Callable[[float], bool] | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """``on_subscribed`` reloads what was missed before messages are trusted;
        ``on_tick(now)`` runs after every poll and returns False to resubscribe;
        ``on_start`` runs (under the lock) whenever a new thread starts."""
        self._store = store
        self._channel = channel
        self._name = name
        self._on_subscribed = on_subscribed
        self._on_message = on_message
        self._on_tick = on_tick
        self._on_start = on_start
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._last_ok = 0.0
        self._healthy = False

    @property
    def healthy(self) -> bool:
        return self._healthy and time.monotonic() - self._last_ok < STALE_SECONDS

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def mark_unhealthy(self) -> None:
        """Distrust the state until the next successful subscription."""
        self._healthy = False

    def ensure_started(self) -> None:
        if self._running():
            return
        with self._lock:
            if self._running():
                return
            self._pid = os.getpid()
            self._healthy = False
            if self._on_start is not None:
                self._on_start()
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name=self._name, daemon=True)
            self._thread.start()

    def _running(self) -> bool:
        # After a fork the parent's thread does not exist in this process.
        thread = self._thread
        return self._pid == os.getpid() and thread is not None and thread.is_alive()

    def wait_until_healthy(self, timeout: float) -> bool:
        """Start the listener and wait until it is subscribed (tests, start-up)."""
        self.ensure_started()
        deadline = time.monotonic() + timeout
        while not self.healthy:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            if thread.is_alive():
                # A store that is down cannot carry the nudge; the join then waits one poll.
                with contextlib.suppress(Exception):
                    self._store.publish(self._channel, WAKE)
            thread.join(timeout=2 * POLL_SECONDS + 1)
        self._thread = None

    def _listen(self) -> None:
        while not self._stop.is_set():
            subscription: Subscription | None = None
            try:
                subscription = self._store.subscribe(self._channel)
                self._on_subscribed()
                self._follow(subscription)
            except Exception as exc:  # noqa: BLE001 - any failure means: not trusted, retry
                self._healthy = False
                log.warning("store_listener_down", listener=self._name,
                            error_detail=type(exc).__name__)  # fmt: skip
                self._stop.wait(RETRY_SECONDS)
            finally:
                if subscription is not None:
                    # Closing a broken connection may fail too; nothing is left to do then.
                    with contextlib.suppress(Exception):
                        subscription.close()
        self._healthy = False

    def _follow(self, subscription: Subscription) -> None:
        self._last_ok = time.monotonic()
        self._healthy = True
        while not self._stop.is_set():
            message = subscription.get_message(timeout=POLL_SECONDS)
            if message:  # None: nothing within the poll; WAKE: a closing owner's nudge
                self._on_message(message)
            now = time.monotonic()
            if self._on_tick is not None and not self._on_tick(now):
                self._healthy = False
                return
            self._last_ok = now
