"""What "revoked" means, in one place: a deny-set of jti values plus "revoked before T"
watermarks per client, user (``sub``) and consent.

The same rules are used by every reader: the resource server's local view, its
fallback reads from the store, and introspection. Entries carry the time after
which they no longer matter (every token they could refuse has expired), so the
store holds them with a TTL and local views prune them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JTI = "jti"
CLIENT = "client"
USER = "user"
CONSENT = "consent"
WATERMARK_KINDS = (CLIENT, USER, CONSENT)
DENY_PREFIX = "revoked_jti:"
WATERMARK_PREFIX = "revoked_before:"
# Present while the store holds the whole revocation state; missing after a flush,
# which makes the next reader rebuild it from SQL before trusting the store.
READY_KEY = "revocation:ready"
READY_TTL = 7 * 86400.0
CHANNEL = "revocations"
# Access tokens live at most this long (TokenSettings.access_ttl, per-client TTL), plus
# the resource servers' clock skew: a watermark older than that can refuse nothing.
MAX_ACCESS_TOKEN_TTL = 3600
WATERMARK_TTL = MAX_ACCESS_TOKEN_TTL + 60


@dataclass(frozen=True)
class Revocation:
    """One revocation fact: a jti, or a watermark ``kind``/``target`` with ``before``."""

    kind: str
    target: str
    until: float
    """Epoch seconds after which the fact can refuse nothing."""
    before: int = 0
    """Watermarks only: tokens with ``iat`` at or before this are revoked."""

    @property
    def key(self) -> str:
        if self.kind == JTI:
            return DENY_PREFIX + self.target
        return watermark_key(self.kind, self.target)

    @property
    def value(self) -> bytes:
        return str(self.before if self.kind != JTI else int(self.until)).encode()

    def to_message(self) -> bytes:
        return json.dumps(
            {"k": self.kind, "id": self.target, "until": self.until, "before": self.before}
        ).encode()

    @classmethod
    def from_message(cls, message: bytes) -> Revocation:
        data = json.loads(message)
        kind = str(data["k"])
        if kind != JTI and kind not in WATERMARK_KINDS:
            raise ValueError("unknown revocation kind")
        return cls(kind, str(data["id"]), float(data["until"]), int(data.get("before", 0)))


def watermark_key(kind: str, target: str) -> str:
    return f"{WATERMARK_PREFIX}{kind}:{target}"


def watermark_targets(claims: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, target) watermarks that can refuse a token with these claims."""
    targets = [(CLIENT, str(claims.get("client_id", "")))]
    if claims.get("sub") and claims.get("sub") != claims.get("client_id"):
        targets.append((USER, str(claims["sub"])))
    if claims.get("consent_id"):
        targets.append((CONSENT, str(claims["consent_id"])))
    return targets


def is_revoked(
    claims: Mapping[str, Any],
    denied: Callable[[str], bool],
    watermark: Callable[[str, str], int | None],
) -> bool:
    """The one decision: jti denied, or issued at or before a matching watermark.

    A token without an integer ``iat`` counts as revoked by any watermark (fail closed).
    """
    if denied(str(claims.get("jti", ""))):
        return True
    iat = claims.get("iat")
    for kind, target in watermark_targets(claims):
        before = watermark(kind, target)
        if before is not None and (not isinstance(iat, int) or iat <= before):
            return True
    return False


def parse_store_entry(key: str, value: bytes) -> Revocation | None:
    """A store key/value back into a fact (for snapshots); None for foreign keys."""
    if key.startswith(DENY_PREFIX):
        return Revocation(JTI, key.removeprefix(DENY_PREFIX), until=_number(value))
    if key.startswith(WATERMARK_PREFIX):
        kind, _, target = key.removeprefix(WATERMARK_PREFIX).partition(":")
        if kind in WATERMARK_KINDS and target:
            before = watermark_value(value)
            return Revocation(kind, target, until=before + WATERMARK_TTL, before=before)
    return None


# Any token's iat is below this: an unreadable watermark revokes every token of its target.
UNREADABLE_WATERMARK = 2**62


def watermark_value(value: bytes) -> int:
    """A stored watermark; an unreadable one revokes everything (fail closed)."""
    try:
        return int(value)
    except ValueError:
        return UNREADABLE_WATERMARK


def _number(value: bytes) -> float:
    try:
        return float(value)
    except ValueError:
        # An unreadable entry still revokes: keep it for the longest token life.
        return float("inf")


class LocalState:
    """A process's in-memory copy of the revocation state, fed by the listener thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denied: dict[str, float] = {}
        self._watermarks: dict[tuple[str, str], tuple[int, float]] = {}

    def apply(self, fact: Revocation) -> None:
        with self._lock:
            if fact.kind == JTI:
                self._denied[fact.target] = max(fact.until, self._denied.get(fact.target, 0))
                return
            current = self._watermarks.get((fact.kind, fact.target))
            if current is None or fact.before >= current[0]:
                self._watermarks[(fact.kind, fact.target)] = (fact.before, fact.until)

    def replace(self, facts: list[Revocation]) -> None:
        fresh = LocalState()
        for fact in facts:
            fresh.apply(fact)
        with self._lock:
            self._denied = fresh._denied
            self._watermarks = fresh._watermarks

    def prune(self, now: float) -> None:
        with self._lock:
            self._denied = {jti: until for jti, until in self._denied.items() if until > now}
            self._watermarks = {
                key: entry for key, entry in self._watermarks.items() if entry[1] > now
            }

    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        # Plain dict reads: atomic under the GIL, so the hot path takes no lock.
        denied, watermarks = self._denied, self._watermarks
        return is_revoked(
            claims,
            lambda jti: jti in denied,
            lambda kind, target: _before(watermarks.get((kind, target))),
        )

    def __len__(self) -> int:
        return len(self._denied) + len(self._watermarks)


def _before(entry: tuple[int, float] | None) -> int | None:
    return entry[0] if entry is not None else None
