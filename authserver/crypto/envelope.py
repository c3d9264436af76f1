"""AES-256-GCM envelope encryption for tier-1 fields (DATA-1).

Each value gets its own random data key; the data key is wrapped by the master key.
Rotating the master key then means re-wrapping data keys, not re-encrypting data.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """Ciphertext or wrapped key failed authentication (tampered, or wrong master key)."""


@dataclass(frozen=True)
class Sealed:
    """A sealed value as stored: wrapped data key and ciphertext, each nonce-prefixed."""

    wrapped_key: bytes
    ciphertext: bytes

    def to_text(self) -> str:
        return ".".join(
            base64.urlsafe_b64encode(part).decode() for part in (self.wrapped_key, self.ciphertext)
        )

    @classmethod
    def from_text(cls, text: str) -> Sealed:
        wrapped, cipher = (base64.urlsafe_b64decode(part) for part in text.split("."))
        return cls(wrapped, cipher)


def _encrypt(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def _decrypt(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("envelope authentication failed") from exc


class Envelope:
    """Seals and opens values under one master key; ``context`` binds a value to its owner."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        # One cipher object for the master key, built once: every open unwraps a data key
        # with it, and the accounts pages open many values per request.
        self._master = AESGCM(master_key)

    def seal(self, plaintext: bytes, context: str) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        aad = context.encode()
        return Sealed(
            _encrypt(self._master, data_key, aad), _encrypt(AESGCM(data_key), plaintext, aad)
        )

    def open(self, sealed: Sealed, context: str) -> bytes:
        aad = context.encode()
        data_key = _decrypt(self._master, sealed.wrapped_key, aad)
        try:
            data_cipher = AESGCM(data_key)
        except ValueError as exc:  # an unwrapped "key" of the wrong length
            raise DecryptionError("envelope authentication failed") from exc
        return _decrypt(data_cipher, sealed.ciphertext, aad)
