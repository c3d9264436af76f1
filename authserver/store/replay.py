"""Single use that survives the loss of the store (F5).

Replay caches (``first_use`` of client-assertion and DPoP-proof ``jti``s) live in the
store. When it loses its data (a flushed, restarted or failed-over Redis; a restarted
process with the in-process store), every remembered ``jti`` is gone and a JWT used
before could pass ``first_use`` again. The epoch marker closes that hole: it holds the
earliest issue time a single-use JWT may carry, and a JWT issued before it is refused.

- Each process reads the marker when it starts (``start``); the first to find it
  missing writes it (SET NX); the others adopt what is there, so every process refuses
  the same JWTs.
- A store found empty by a process that never saw the marker (a new deployment, or a
  process starting beside an in-process store of its own) has nothing to forget: the
  floor is 0 and the JWTs' own time checks bound what is accepted. Refusing JWTs
  issued before every process start would refuse valid, slightly backdated proofs
  (FAPI's "iat 10 s in the past" case) for seconds after each deploy.
- A process that had seen the marker knows the store lost its data while JWTs were
  being used: the marker is missing, unreadable, or was written again with a lower
  floor (by a process that started after the loss and took the store for new). Those
  JWTs may carry an ``iat`` up to the allowed clock skew in the future (FAPI 2.0 SP
  5.3.2.1-13), so the floor moves ``margin`` seconds past now and is written over
  whatever is there: for that long after a loss every assertion and proof is refused
  and clients retry with fresh ones. A higher floor than the one seen is another
  process's detection, adopted as is.
- Not detected: a loss while no process runs (all stopped, the store flushed, all
  started again), and a failover to a replica that kept the marker but lost recent
  ``jti``s. Both are documented in the README.
- The marker is read after ``first_use`` on every check (``spend``: a GET pipelined
  behind the SET NX, one round trip): a loss between the two shows up as a missing or
  changed marker, never as a silent pass.
  Store errors propagate (StoreUnavailableError, 503): unknown state is never a pass.

The revocation state has its own ready marker (``revocation:ready``), which a flush
removes together with this one; each is rebuilt by its own readers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import structlog

from authserver.clock import Clock
from authserver.store.base import Store
from authserver.store.errors import StoreUnavailableError

log = structlog.get_logger(__name__)

EPOCH_KEY = "replay:epoch"
# Longer than any deployment runs between store losses: the marker must not expire.
EPOCH_TTL = 10 * 365 * 86400.0
# The floor of a store nobody saw lose data: the JWTs' own time checks are the only bound.
NO_FLOOR = 0.0


class ReplayEpoch:
    """Per process; shared by every replay cache of one app so they agree on a loss.

    The marker is ``"<floor> <id>"``: the id of the writer's epoch tells a process that
    the marker was written again (by a process that took an emptied store for new) even
    when the floor it carries is no higher than before.
    """

    def __init__(self, store: Store, clock: Clock, margin: float) -> None:
        self._store = store
        self._clock = clock
        self._margin = margin
        self._seen: Marker | None = None

    def start(self) -> None:
        """Begin (or join) the replay state when the process starts, so that a later loss
        is recognised as one. An unreachable store is not fatal here: the first check
        starts the epoch or answers 503."""
        try:
            self.floor()
        except StoreUnavailableError:
            log.warning("replay_epoch_deferred")

    def admits(self, issued_at: float) -> bool:
        """True when a single-use JWT issued at ``issued_at`` may be trusted to the jti cache."""
        return issued_at >= self.floor()

    def spend(self, key: str, ttl: float, issued_at: float) -> str | None:
        """Spend a single-use JWT's ``key`` for ``ttl`` seconds; None when it may be used,
        else why not ("replayed", or "before_epoch": issued before the replay state began).

        The marker is read after the ``first_use``, in the same store round trip, so a
        loss between the two shows up as a missing or changed marker, never as a pass.
        """
        first, value = self._store.first_use_then_get(key, ttl, EPOCH_KEY)
        if not first:
            return "replayed"
        return None if issued_at >= self._floor_from(value) else "before_epoch"

    def floor(self) -> float:
        """The earliest issue time accepted now; moves it when the store lost its data."""
        return self._floor_from(self._store.get(EPOCH_KEY))

    def _floor_from(self, value: bytes | None) -> float:
        """The floor given the marker as just read (``None``: missing)."""
        marker = _parse(value) if value is not None else None
        if marker is None:
            marker = self._begin(unreadable=value is not None)
        elif (
            self._seen is not None
            and marker.id != self._seen.id
            and marker.floor <= self._seen.floor
        ):
            # Written again, no higher, by a process that took the emptied store for new.
            # (A higher floor is another process's detection of the loss: adopted as is.)
            marker = self._lost("marker_rewritten")
        self._seen = marker
        return marker.floor

    def _begin(self, *, unreadable: bool) -> Marker:
        if unreadable or self._seen is not None:
            return self._lost("marker_unreadable" if unreadable else "store_lost_data")
        fresh = Marker(NO_FLOOR, secrets.token_hex(8))
        if not self._store.first_use(EPOCH_KEY, EPOCH_TTL, fresh.encode()):
            # Another process started the epoch first: everyone uses its floor.
            current = self._store.get(EPOCH_KEY)
            adopted = _parse(current) if current is not None else None
            if adopted is not None:
                return adopted
        log.info("replay_state_started", reason="store_empty")
        return fresh

    def _lost(self, reason: str) -> Marker:
        """A loss while JWTs were in use: an incident, logged, and the floor moved past now."""
        marker = Marker(self._clock.time() + self._margin, secrets.token_hex(8))
        self._store.set(EPOCH_KEY, marker.encode(), ttl=EPOCH_TTL)
        log.warning("replay_state_reset", reason=reason, refuse_issued_before=marker.floor)
        return marker


@dataclass(frozen=True)
class Marker:
    floor: float
    id: str

    def encode(self) -> bytes:
        return f"{self.floor!r} {self.id}".encode()


def _parse(value: bytes) -> Marker | None:
    try:
        floor, marker_id = value.decode().split(" ")
        return Marker(float(floor), marker_id)
    except (UnicodeDecodeError, ValueError):
        return None
