"""Refresh tokens (stored only as SHA-256 hashes) and a ledger of issued access tokens.

The ledger lets a whole family, or everything issued from a replayed code, be
revoked: its jti values go to the store's deny-set for their remaining life.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey

ACTIVE = "active"
ROTATED = "rotated"
REVOKED = "revoked"


class RefreshToken(UUIDPrimaryKey, Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    consent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    scope: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    family_expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    auth_time: Mapped[datetime | None]
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    # How the TPP named its open-banking consent at PAR, so every refresh repeats it:
    # where it asked for openbanking_intent_id, and the granted RFC 9396 details.
    intent_claims: Mapped[list[str] | None] = mapped_column(JSON)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # How the user authenticated when the family began (RFC 8176 amr, OB acr), so every
    # token of the family reports the login it really stands on.
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    acr: Mapped[str | None] = mapped_column(String(64))


class IssuedAccessToken(Base):
    __tablename__ = "issued_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    family_id: Mapped[str | None] = mapped_column(String(36), index=True)
    code_id: Mapped[str | None] = mapped_column(String(64), index=True)
    consent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
