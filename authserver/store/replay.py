"""Single use that survives the loss of the store (F5).

Replay caches (``first_use`` of client-assertion and DPoP-proof ``jti``s) live in the
store. When it loses its data (a flushed, restarted or failed-over Redis; a restarted
process with the in-process store), every remembered ``jti`` is gone and a JWT used
before could pass ``first_use`` again. The epoch marker closes that hole: it holds the
earliest issue time a single-use JWT may carry, and a JWT issued before it is refused.

- Each process reads the marker when it starts (``start``); the first to find it
  missing writes it (SET NX); the others adopt what is there, so every process refuses
  the same JWTs.
- A process that had seen the marker before knows the store lost its data while JWTs
  were being used. Those JWTs may carry an ``iat`` up to the allowed clock skew in
  the future (FAPI 2.0 SP 5.3.2.1-13), so it moves the floor ``margin`` seconds past
  now: for that long after a loss every assertion and proof is refused and clients
  retry with fresh ones. A process that never saw the marker (a fresh start, or a
  store that was never used) starts the floor at now. Clients whose clocks run behind
  may see a fresh JWT refused after either event; a retry a little later succeeds.
- The marker is read after ``first_use`` on every check (one extra GET): a loss
  between the two shows up as a missing or newer marker, never as a silent pass.
  Store errors propagate (StoreUnavailableError, 503): unknown state is never a pass.

The revocation state has its own ready marker (``revocation:ready``), which a flush
removes together with this one; each is rebuilt by its own readers.
"""

from __future__ import annotations

import structlog

from authserver.clock import Clock
from authserver.store.base import Store
from authserver.store.errors import StoreUnavailableError

log = structlog.get_logger(__name__)

EPOCH_KEY = "replay:epoch"
# Longer than any deployment runs between store losses: the marker must not expire.
EPOCH_TTL = 10 * 365 * 86400.0


class ReplayEpoch:
    """Per process; shared by every replay cache of one app so they agree on a loss."""

    def __init__(self, store: Store, clock: Clock, margin: float) -> None:
        self._store = store
        self._clock = clock
        self._margin = margin
        self._seen: float | None = None

    def start(self) -> None:
        """Begin (or join) the replay state when the process starts, so that a JWT signed
        after the server came up, but before its first check, is accepted. An unreachable
        store is not fatal here: the first check starts the epoch or answers 503."""
        try:
            self.floor()
        except StoreUnavailableError:
            log.warning("replay_epoch_deferred")

    def admits(self, issued_at: float) -> bool:
        """True when a single-use JWT issued at ``issued_at`` may be trusted to the jti cache."""
        return issued_at >= self.floor()

    def floor(self) -> float:
        """The earliest issue time accepted now; starts the epoch when the marker is gone."""
        value = self._store.get(EPOCH_KEY)
        floor = _parse(value) if value is not None else None
        if floor is None:
            floor = self._begin(unreadable=value is not None)
        self._seen = floor
        return floor

    def _begin(self, *, unreadable: bool) -> float:
        lost = unreadable or self._seen is not None
        floor = self._clock.time() + (self._margin if lost else 0.0)
        encoded = repr(floor).encode()
        if unreadable:
            self._store.set(EPOCH_KEY, encoded, ttl=EPOCH_TTL)
        elif not self._store.first_use(EPOCH_KEY, EPOCH_TTL, encoded):
            # Another process started the epoch first: everyone uses its floor.
            current = self._store.get(EPOCH_KEY)
            adopted = _parse(current) if current is not None else None
            return adopted if adopted is not None else floor
        # A loss while JWTs were in use is an incident; an empty store at start-up is not.
        report = log.warning if lost else log.info
        report(
            "replay_state_reset",
            reason="store_lost_data" if lost else "store_empty",
            refuse_issued_before=floor,
        )
        return floor


def _parse(value: bytes) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
