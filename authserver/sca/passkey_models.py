"""WebAuthn passkeys (issue 13): one row per registered credential of a user.

Only public material is kept: the credential id and its COSE public key. The sign counter
is the authenticator's last reported count; an assertion that does not raise it is refused
(WebAuthn §6.1.1: a cloned authenticator cannot know its twin's count).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey


class Passkey(UUIDPrimaryKey, Base):
    __tablename__ = "passkeys"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[str] = mapped_column(String(1024), unique=True)
    """base64url of the raw credential id, as the browser reports it."""
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    """The credential's COSE public key."""
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
