"""Consents in the UK Open Banking v4.0 shape: one entity for every consent kind.

Status codes are v4.0's (ISO 20022 short codes): AWAU awaiting authorisation, AUTH
authorised, RJCT rejected, CANC cancelled (withdrawn), EXPD expired, COND consumed (a
payment consent whose one payment was made). They change only
through ``consent.lifecycle.transition``, which appends a ``ConsentStatusHistory`` row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey

AWAU = "AWAU"
AUTH = "AUTH"
RJCT = "RJCT"
CANC = "CANC"
EXPD = "EXPD"
COND = "COND"
STATUSES = (AWAU, AUTH, RJCT, CANC, EXPD, COND)

ACCOUNT_ACCESS = "account_access"
DOMESTIC_PAYMENT = "domestic_payment"
KINDS = (ACCOUNT_ACCESS, DOMESTIC_PAYMENT)

# What the dashboard shows a person instead of the wire code.
STATUS_WORDS = {
    AWAU: "Awaiting approval",
    AUTH: "Active",
    RJCT: "Rejected",
    CANC: "Withdrawn",
    EXPD: "Expired",
    COND: "Used",
}


class Consent(UUIDPrimaryKey, Base):
    __tablename__ = "consents"

    kind: Mapped[str] = mapped_column(
        String(30), default=ACCOUNT_ACCESS, server_default=ACCOUNT_ACCESS
    )
    # None while AWAU: the TPP creates the consent before any user is known.
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(30))
    # Permissions, ExpirationDateTime, TransactionFromDateTime, TransactionToDateTime.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    selected_accounts: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    status_updated_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class ConsentStatusHistory(UUIDPrimaryKey, Base):
    """One row per status change (and one for creation, with no ``from_status``)."""

    __tablename__ = "consent_status_history"

    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(4))
    to_status: Mapped[str] = mapped_column(String(4))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200))


def is_live(consent: Consent | None, client_id: str | None = None) -> bool:
    """The one rule for "this consent still authorises something" (TOK-5): it exists, is
    authorised (AUTH) and, when a client is named, is held by that client."""
    if consent is None or consent.status != AUTH:
        return False
    return client_id is None or consent.client_id == client_id
