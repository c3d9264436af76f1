"""Consents, with the open-banking lifecycle states (TOK-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey

AWAITING = "AwaitingAuthorisation"
AUTHORISED = "Authorised"
REJECTED = "Rejected"
REVOKED = "Revoked"
EXPIRED = "Expired"
CONSUMED = "Consumed"


class Consent(UUIDPrimaryKey, Base):
    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


def is_live(consent: Consent | None, client_id: str | None = None) -> bool:
    """The one rule for "this consent still authorises something" (TOK-5): it exists, is
    authorised and, when a client is named, is held by that client."""
    if consent is None or consent.status != AUTHORISED:
        return False
    return client_id is None or consent.client_id == client_id
