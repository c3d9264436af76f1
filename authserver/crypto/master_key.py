"""Where the master key comes from: a variable, a file, or (development only) generated once."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authserver.settings import Settings
from authserver.settings import SettingsError

GENERATED_NAME = "master.key"


def _decode(text: str, variable: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise SettingsError(f"invalid setting {variable}: must be base64url") from None
    if len(raw) != 32:
        raise SettingsError(f"invalid setting {variable}: must decode to 32 bytes")
    return raw


def generate_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def load_master_key(settings: Settings) -> bytes:
    """Return the 32-byte master key; generate one into the instance folder in development."""
    if settings.master_key is not None:
        return _decode(settings.master_key.get_secret_value(), "AUTHSERVER_MASTER_KEY")
    if settings.master_key_file is not None:
        try:
            text = settings.master_key_file.read_text()
        except OSError:
            raise SettingsError(
                "invalid setting AUTHSERVER_MASTER_KEY_FILE: file cannot be read"
            ) from None
        return _decode(text, "AUTHSERVER_MASTER_KEY_FILE")
    if settings.env == "production":
        raise SettingsError("invalid setting AUTHSERVER_MASTER_KEY: required in production")
    path = Path(settings.instance_path) / GENERATED_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then link: two workers starting together end up with one key, and
        # nobody ever reads a half-written file.
        temporary = path.with_name(f".{GENERATED_NAME}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_master_key())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return _decode(path.read_text(), "AUTHSERVER_MASTER_KEY_FILE")


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """Independent sub-keys (session signing, nonces) from the one master secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master_key
    )
