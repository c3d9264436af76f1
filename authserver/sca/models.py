"""End users. Password hashes are argon2id; TOTP secrets are sealed under the master key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    sealed_totp_secret: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class LoginLock(Base):
    """A user's failed-attempt count and lock, in SQL so it survives restarts and is shared
    by every process (the store may be in-process, or flushed)."""

    __tablename__ = "login_locks"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    failures: Mapped[int] = mapped_column(Integer, default=0)
    """Failed attempts since the last success or the last lock."""
    locks: Mapped[int] = mapped_column(Integer, default=0)
    """Locks since the last success: each doubles the next one's length."""
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]
