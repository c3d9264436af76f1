"""Bulk revocations as durable "revoked before T" watermarks (the record of truth)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey


class RevocationWatermark(UUIDPrimaryKey, Base):
    __tablename__ = "revocation_watermarks"

    kind: Mapped[str] = mapped_column(String(10), index=True)
    target: Mapped[str] = mapped_column(String(100), index=True)
    revoked_before: Mapped[int]
    """Epoch seconds: tokens of this target with ``iat`` at or before it are revoked."""
    created_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200))
