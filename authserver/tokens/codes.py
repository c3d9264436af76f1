"""Authorization codes: ≥ 256 bits, single use, 60 s with no leeway, bound to everything.

A code lives in the store under its SHA-256 hash and is redeemed with GETDEL, so
two redemptions can never both succeed. A "used" marker outlives it, so a second
redemption is recognised as a replay and the tokens issued from it are revoked
(RFC 6749 §4.1.2, FAPI 2.0 SP 5.3.2.2-9).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

from authserver.clock import Clock
from authserver.store.base import Store
from authserver.tokens.errors import InvalidGrantError

_CODE_PREFIX = "code:"
_USED_PREFIX = "code_used:"
# Long enough to catch a replay of any code whose tokens may still be alive.
USED_MARKER_TTL = 3600 + 60


@dataclass(frozen=True)
class CodeGrant:
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scopes: tuple[str, ...]
    user_id: str
    consent_id: str
    auth_time: float
    issued_at: float
    nonce: str | None = None
    dpop_jkt: str | None = None
    code_id: str = ""
    intent_claims: tuple[str, ...] = ()
    """Where the TPP asked for ``openbanking_intent_id`` (``id_token``, ``userinfo``);
    the value is ``consent_id``, the open-banking ConsentId."""
    authorization_details: tuple[dict[str, Any], ...] = ()
    """RFC 9396 §7: the granted details (with the selected accounts) when RAR was used."""
    amr: tuple[str, ...] = ()
    """How the user authenticated (RFC 8176), from the session, for the ID token."""
    acr: str | None = None

    def to_json(self) -> bytes:
        data: dict[str, Any] = asdict(self)
        data["scopes"] = list(self.scopes)
        data["intent_claims"] = list(self.intent_claims)
        data["authorization_details"] = list(self.authorization_details)
        data["amr"] = list(self.amr)
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CodeGrant:
        data = json.loads(raw)
        return cls(
            **{
                **data,
                "scopes": tuple(data["scopes"]),
                "intent_claims": tuple(data.get("intent_claims", ())),
                "authorization_details": tuple(data.get("authorization_details", ())),
                "amr": tuple(data.get("amr", ())),
            }
        )


class CodeReplayedError(InvalidGrantError):
    """A code presented again: the caller revokes what the first redemption produced."""

    def __init__(self, code_identifier: str, family_id: str | None) -> None:
        super().__init__()
        self.code_identifier = code_identifier
        self.family_id = family_id


def code_id(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class CodeStore:
    def __init__(self, store: Store, clock: Clock, ttl: int) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl

    def issue(self, grant: CodeGrant) -> str:
        code = secrets.token_urlsafe(32)
        identifier = code_id(code)
        stored = CodeGrant(**{**asdict(grant), "code_id": identifier, "scopes": grant.scopes})
        self._store.set(_CODE_PREFIX + identifier, stored.to_json(), self._ttl)
        return code

    def redeem(self, code: str) -> CodeGrant:
        """The grant behind ``code``, exactly once; a replay raises CodeReplayedError."""
        identifier = code_id(code)
        raw = self._store.consume(_CODE_PREFIX + identifier)
        if raw is None:
            marker = self._store.get(_USED_PREFIX + identifier)
            if marker is not None:
                raise CodeReplayedError(identifier, json.loads(marker).get("family_id"))
            raise InvalidGrantError()
        self._store.set(_USED_PREFIX + identifier, b"{}", USED_MARKER_TTL)
        grant = CodeGrant.from_json(raw)
        # FAPI 2.0 SP 5.3.2.1-11: 60 s at most, and no clock leeway on code expiry.
        if self._clock.time() >= grant.issued_at + self._ttl:
            raise InvalidGrantError()
        return grant

    def remember_issued(self, code_identifier: str, family_id: str | None) -> None:
        """Note what the code produced, so a later replay can revoke it."""
        marker = json.dumps({"family_id": family_id}).encode()
        self._store.set(_USED_PREFIX + code_identifier, marker, USED_MARKER_TTL)
