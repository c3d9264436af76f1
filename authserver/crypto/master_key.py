"""Where the master key comes from: a variable, a file, or (development only) generated once."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from authserver.crypto.subkeys import decode_secret
from authserver.crypto.subkeys import derive_key
from authserver.settings import Settings
from authserver.settings import SettingsError

GENERATED_NAME = "master.key"
__all__ = ["derive_key", "generate_master_key", "load_master_key"]


def generate_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def load_master_key(settings: Settings) -> bytes:
    """Return the 32-byte master key; generate one into the instance folder in development."""
    if settings.master_key is not None:
        return decode_secret(settings.master_key.get_secret_value(), "AUTHSERVER_MASTER_KEY")
    if settings.master_key_file is not None:
        try:
            text = settings.master_key_file.read_text()
        except OSError:
            raise SettingsError(
                "invalid setting AUTHSERVER_MASTER_KEY_FILE: file cannot be read"
            ) from None
        return decode_secret(text, "AUTHSERVER_MASTER_KEY_FILE")
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
    return decode_secret(path.read_text(), "AUTHSERVER_MASTER_KEY_FILE")
