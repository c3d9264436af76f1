"""Each process's view of the revocation state, kept current by a subscription.

A daemon thread subscribes to the revocation channel, then loads a snapshot of the
store (subscribe first, so nothing published meanwhile is missed), then applies
every message as it arrives. While that thread is healthy a token check is a few
dict lookups. When it is not (starting, reconnecting, silent for too long), checks
read the store directly; when the store cannot be read either, the check raises
StoreUnavailableError (503): a token is never accepted on an unknown state.

A store that lost its state (flushed, restarted without persistence) is noticed by
the missing ready marker and rebuilt from SQL before anyone trusts it again; after
any outage the listener also re-applies SQL's record, in case a revocation reached
SQL while the store could not be written.

With the in-process store nothing outside this process can publish (``authserver
revoke`` runs in a process of its own), so the listener also re-reads SQL's record
every ``SQL_POLL_SECONDS``: the embedded default learns an operator's revocation
within a second too.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import structlog

from authserver.clock import Clock
from authserver.revocation.publisher import RevocationPublisher
from authserver.revocation.state import CHANNEL
from authserver.revocation.state import DENY_PREFIX
from authserver.revocation.state import READY_KEY
from authserver.revocation.state import WATERMARK_PREFIX
from authserver.revocation.state import LocalState
from authserver.revocation.state import Revocation
from authserver.revocation.state import is_revoked
from authserver.revocation.state import parse_store_entry
from authserver.revocation.state import watermark_key
from authserver.revocation.state import watermark_targets
from authserver.revocation.state import watermark_value
from authserver.store.base import Store
from authserver.store.base import Subscription

log = structlog.get_logger(__name__)

# How long get_message blocks; also the heartbeat of a healthy listener.
POLL_SECONDS = 0.25
# A listener silent for longer than this is not trusted; checks read the store.
STALE_SECONDS = 2.0
# How often the listener checks the ready marker (a flushed store) and prunes.
MARKER_CHECK_SECONDS = 1.0
PRUNE_SECONDS = 30.0
SQL_POLL_SECONDS = 1.0
RETRY_SECONDS = 0.5
WAKE = b""

Rebuild = Callable[[], None]


class RevocationView:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        publisher: RevocationPublisher,
        *,
        poll_sql: bool = False,
        sql_poll_seconds: float = SQL_POLL_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._publisher = publisher
        self._poll_sql = poll_sql
        self._sql_poll_seconds = sql_poll_seconds
        self._state = LocalState()
        publisher.also_apply_locally(self._state.apply)
        self._rebuild: Rebuild | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._last_ok = 0.0
        self._healthy = False

    def bind_rebuild(self, rebuild: Rebuild) -> None:
        """How to refill the store from SQL (needs the app, so it is bound after build)."""
        self._rebuild = rebuild

    # -- the check -------------------------------------------------------------------

    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        """True when revoked; StoreUnavailableError when the state cannot be established."""
        self._ensure_listening()
        if self.healthy:
            return self._state.is_revoked(claims)
        return self._read_through(claims)

    @property
    def healthy(self) -> bool:
        return self._healthy and time.monotonic() - self._last_ok < STALE_SECONDS

    def wait_until_healthy(self, timeout: float) -> bool:
        """Start the listener and wait for its snapshot (tests, readiness, start-up)."""
        self._ensure_listening()
        deadline = time.monotonic() + timeout
        while not self.healthy:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _read_through(self, claims: Mapping[str, Any]) -> bool:
        targets = watermark_targets(claims)
        keys = [READY_KEY, DENY_PREFIX + str(claims.get("jti", ""))]
        keys += [watermark_key(kind, target) for kind, target in targets]
        values = self._store.get_many(keys)
        if values[0] is None:
            self._rebuild_store()
            values = self._store.get_many(keys)
        watermarks = {
            target: watermark_value(value)
            for target, value in zip(targets, values[2:], strict=True)
            if value is not None
        }
        return is_revoked(
            claims,
            lambda _jti: values[1] is not None,
            lambda kind, target: watermarks.get((kind, target)),
        )

    # -- the listener ----------------------------------------------------------------

    def _ensure_listening(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist here.
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._healthy = False
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._listen, name="revocation-listener", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            if thread.is_alive():
                # Wake the listener from its blocking read instead of waiting out the poll
                # (every listener ignores an empty message). A store that is down cannot
                # carry it; the join then waits one poll, as before.
                with contextlib.suppress(Exception):
                    self._store.publish(CHANNEL, WAKE)
            thread.join(timeout=2 * POLL_SECONDS + 1)
        self._thread = None

    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            subscription: Subscription | None = None
            try:
                subscription = self._store.subscribe(CHANNEL)
                self._load_snapshot(resync_from_sql=not first)
                first = False
                self._follow(subscription)
            except Exception as exc:  # noqa: BLE001 - any failure means: not trusted, retry
                self._healthy = False
                log.warning("revocation_listener_down", error_detail=type(exc).__name__)
                self._stop.wait(RETRY_SECONDS)
            finally:
                if subscription is not None:
                    # Closing a broken connection may fail too; nothing is left to do then.
                    with contextlib.suppress(Exception):
                        subscription.close()
        self._healthy = False

    def _load_snapshot(self, *, resync_from_sql: bool) -> None:
        if resync_from_sql or not self._publisher.is_ready():
            self._rebuild_store()
        entries = self._store.scan(DENY_PREFIX)
        entries.update(self._store.scan(WATERMARK_PREFIX))
        facts = [parse_store_entry(key, value) for key, value in entries.items()]
        self._state.replace([fact for fact in facts if fact is not None])
        self._last_ok = time.monotonic()
        self._healthy = True
        log.info("revocation_view_loaded", entries=len(self._state))

    def _follow(self, subscription: Subscription) -> None:
        next_marker_check = time.monotonic() + MARKER_CHECK_SECONDS
        next_prune = time.monotonic() + PRUNE_SECONDS
        next_sql_poll = time.monotonic() + self._sql_poll_seconds
        while not self._stop.is_set():
            message = subscription.get_message(timeout=POLL_SECONDS)
            if message:  # None: nothing within the poll; WAKE: a closing view's nudge
                self._apply(message)
            now = time.monotonic()
            if now >= next_marker_check:
                if not self._publisher.is_ready():
                    log.warning("revocation_store_lost_state")
                    self._healthy = False
                    return  # resubscribe, rebuild from SQL and reload
                next_marker_check = now + MARKER_CHECK_SECONDS
            if self._poll_sql and now >= next_sql_poll:
                # The rebuild's facts reach this view through the publisher's local hook.
                self._rebuild_store()
                next_sql_poll = now + self._sql_poll_seconds
            if now >= next_prune:
                self._state.prune(self._clock.time())
                next_prune = now + PRUNE_SECONDS
            self._last_ok = now

    def _apply(self, message: bytes) -> None:
        try:
            fact = Revocation.from_message(message)
        except (ValueError, KeyError, TypeError):
            log.warning("revocation_message_unreadable")
            return
        self._state.apply(fact)

    def _rebuild_store(self) -> None:
        if self._rebuild is None:
            # Nothing to rebuild from: an empty store is then the whole state.
            self._publisher.mark_ready()
            return
        self._rebuild()
