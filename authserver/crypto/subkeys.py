"""Decoding configured secrets and deriving sub-keys; nothing here loads or creates a key.

Kept apart from ``master_key.py`` (which may generate a development master key) so a
resource server can read its DPoP nonce secret without touching the master key.
"""

from __future__ import annotations

import base64
import binascii
from typing import overload

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authserver.settings import Settings
from authserver.settings import SettingsError


def decode_secret(text: str, variable: str) -> bytes:
    """A base64url 32-byte secret; SettingsError naming ``variable`` (never the value)."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise SettingsError(f"invalid setting {variable}: must be base64url") from None
    if len(raw) != 32:
        raise SettingsError(f"invalid setting {variable}: must decode to 32 bytes")
    return raw


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """Independent sub-keys (session signing, nonces) from the one master secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master_key
    )


def dpop_nonce_key(settings: Settings, master_key: bytes | None) -> bytes:
    """The DPoP nonce key: ``AUTHSERVER_DPOP_NONCE_SECRET`` when set (shared by the AS and
    separate resource servers, so each accepts the other's nonces), else derived from the
    master key (the AS, with its resource endpoints in the same app)."""
    if settings.dpop_nonce_secret is not None:
        return decode_secret(
            settings.dpop_nonce_secret.get_secret_value(), "AUTHSERVER_DPOP_NONCE_SECRET"
        )
    if master_key is None:
        raise SettingsError("invalid setting AUTHSERVER_DPOP_NONCE_SECRET: required here")
    return derive_key(master_key, "dpop-nonce")


@overload
def account_data_key(settings: Settings, master_key: bytes) -> bytes: ...
@overload
def account_data_key(settings: Settings, master_key: None) -> bytes | None: ...
def account_data_key(settings: Settings, master_key: bytes | None) -> bytes | None:
    """The key sealing account identifiers at rest (DATA-1): ``AUTHSERVER_ACCOUNT_DATA_SECRET``
    when set (shared with a separate resource server, which never holds the master key),
    else derived from the master key; None when neither is available (a resource server
    without the setting, which then serves no account data)."""
    if settings.account_data_secret is not None:
        return decode_secret(
            settings.account_data_secret.get_secret_value(), "AUTHSERVER_ACCOUNT_DATA_SECRET"
        )
    if master_key is None:
        return None
    return derive_key(master_key, "account-data")
