"""Envelope encryption: AES-256-GCM under a per-value data key wrapped by the master key."""

from __future__ import annotations

import os

import pytest

from authserver.crypto.envelope import DecryptionError
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed


def test_sealed_value_opens_with_the_same_context() -> None:
    envelope = Envelope(os.urandom(32))
    sealed = Sealed.from_text(envelope.seal(b"tier-1 secret", "key-1").to_text())
    assert envelope.open(sealed, "key-1") == b"tier-1 secret"


def test_each_value_gets_its_own_data_key() -> None:
    envelope = Envelope(os.urandom(32))
    first, second = envelope.seal(b"same", "ctx"), envelope.seal(b"same", "ctx")
    assert first.wrapped_key != second.wrapped_key
    assert first.ciphertext != second.ciphertext


def test_wrong_context_is_refused() -> None:
    envelope = Envelope(os.urandom(32))
    with pytest.raises(DecryptionError):
        envelope.open(envelope.seal(b"value", "key-1"), "key-2")


def test_wrong_master_key_is_refused() -> None:
    sealed = Envelope(os.urandom(32)).seal(b"value", "ctx")
    with pytest.raises(DecryptionError):
        Envelope(os.urandom(32)).open(sealed, "ctx")


def test_tampered_ciphertext_is_refused() -> None:
    envelope = Envelope(os.urandom(32))
    sealed = envelope.seal(b"value", "ctx")
    flipped = bytes([sealed.ciphertext[-1] ^ 1])
    tampered = Sealed(sealed.wrapped_key, sealed.ciphertext[:-1] + flipped)
    with pytest.raises(DecryptionError):
        envelope.open(tampered, "ctx")


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Envelope(b"too short")
