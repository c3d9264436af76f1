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
from authserver.store.listener import StoreListener

log = structlog.get_logger(__name__)

# How often the listener checks the ready marker (a flushed store) and prunes.
MARKER_CHECK_SECONDS = 1.0
PRUNE_SECONDS = 30.0
SQL_POLL_SECONDS = 1.0

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
        self._subscribed_before = False
        self._next_marker_check = self._next_prune = self._next_sql_poll = 0.0
        self._listener = StoreListener(
            store,
            CHANNEL,
            name="revocation-listener",
            on_start=self._restarted,
            on_subscribed=self._subscribed,
            # Looked up at each message, not bound now: a test may hold messages back.
            on_message=lambda message: self._apply(message),
            on_tick=self._tick,
        )

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
        return self._listener.healthy

    def wait_until_healthy(self, timeout: float) -> bool:
        """Start the listener and wait for its snapshot (tests, readiness, start-up)."""
        return self._listener.wait_until_healthy(timeout)

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
        self._listener.ensure_started()

    def close(self) -> None:
        self._listener.close()

    def _restarted(self) -> None:
        # A new thread's first snapshot trusts the store unless it lost its state.
        self._subscribed_before = False

    def _subscribed(self) -> None:
        """Reload the snapshot; after a reconnect resync from SQL (messages were missed)."""
        self._load_snapshot(resync_from_sql=self._subscribed_before)
        self._subscribed_before = True
        now = time.monotonic()
        self._next_marker_check = now + MARKER_CHECK_SECONDS
        self._next_prune = now + PRUNE_SECONDS
        self._next_sql_poll = now + self._sql_poll_seconds

    def _load_snapshot(self, *, resync_from_sql: bool) -> None:
        if resync_from_sql or not self._publisher.is_ready():
            self._rebuild_store()
        entries = self._store.scan(DENY_PREFIX)
        entries.update(self._store.scan(WATERMARK_PREFIX))
        facts = [parse_store_entry(key, value) for key, value in entries.items()]
        self._state.replace([fact for fact in facts if fact is not None])
        log.info("revocation_view_loaded", entries=len(self._state))

    def _tick(self, now: float) -> bool:
        """After every poll; False resubscribes (the store lost its state)."""
        if now >= self._next_marker_check:
            if not self._publisher.is_ready():
                log.warning("revocation_store_lost_state")
                return False  # resubscribe, rebuild from SQL and reload
            self._next_marker_check = now + MARKER_CHECK_SECONDS
        if self._poll_sql and now >= self._next_sql_poll:
            # The rebuild's facts reach this view through the publisher's local hook.
            self._rebuild_store()
            self._next_sql_poll = now + self._sql_poll_seconds
        if now >= self._next_prune:
            self._state.prune(self._clock.time())
            self._next_prune = now + PRUNE_SECONDS
        return True

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
