"""Stateless DPoP server nonces (RFC 9449 §8): an HMAC of a time step, shared by all nodes.

Every node derives the same secret from the master key, so a nonce handed out by one
process is accepted by another without any shared state; a nonce stays valid for the
current and the previous step, and the next one can ride on any response.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

from authserver.clock import Clock


class NonceService:
    def __init__(self, secret: bytes, clock: Clock, step_seconds: int = 60) -> None:
        self._secret = secret
        self._clock = clock
        self._step = step_seconds

    def _nonce_for(self, step: int) -> str:
        packed = struct.pack(">Q", step)
        mac = hmac.new(self._secret, b"dpop-nonce" + packed, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(packed + mac).rstrip(b"=").decode()

    def _current_step(self) -> int:
        return int(self._clock.time() // self._step)

    def current(self) -> str:
        return self._nonce_for(self._current_step())

    def is_valid(self, nonce: object) -> bool:
        """Current or previous step, compared in constant time."""
        # Ours are base64url; anything else (a lone surrogate cannot even be encoded) is refused.
        if not isinstance(nonce, str) or len(nonce) > 64 or not nonce.isascii():
            return False
        step = self._current_step()
        candidates = (self._nonce_for(step), self._nonce_for(step - 1))
        # Compare against every candidate so timing says nothing about which matched.
        results = [hmac.compare_digest(nonce.encode(), c.encode()) for c in candidates]
        return any(results)

    @property
    def lifetime(self) -> int:
        """Longest time a nonce is accepted, the replay-cache window when nonces are used."""
        return 2 * self._step
