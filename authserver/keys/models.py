"""Signing keys as stored: public JWK in clear, private JWK sealed under the master key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey

ACTIVE = "active"
RETIRED = "retired"
TOKEN_USE = "token"  # noqa: S105 - a key-ring name, not a secret
"""Keys that sign tokens, ID tokens, JARM and response signatures (published at /jwks)."""
WEBHOOK_USE = "webhook"
"""Keys that sign webhook events only (published at /v1/.well-known/jwks.json): a TPP that
trusts an event signature must never be handed a token signature that verifies with it."""


class SigningKey(UUIDPrimaryKey, Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        # At most one active key per use and algorithm, even when two workers start at once.
        Index(
            "uq_signing_keys_active_use_alg",
            "use",
            "alg",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    kid: Mapped[str] = mapped_column(String(100), unique=True)
    alg: Mapped[str] = mapped_column(String(10))
    kty: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    use: Mapped[str] = mapped_column(String(16), default=TOKEN_USE, server_default=TOKEN_USE)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_private_jwk: Mapped[str] = mapped_column(Text)
