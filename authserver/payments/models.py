"""Domestic payments as recorded by ``payments.sql``.

The creditor's account identification is tier-1 data (DATA-1): stored only sealed with
the account-data envelope, bound to its row (``payment:<id>:creditor``); ``creditor_masked``
is the one form pages, logs and audit see. Amounts are integer minor units of the
payment's currency (ISO 4217 exponent), like the account tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base


class DomesticPaymentRow(Base):
    __tablename__ = "domestic_payments"

    payment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """The v4.0 DomesticPaymentId: opaque, made by us."""
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    debtor_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    creditor_scheme: Mapped[str] = mapped_column(String(40))
    creditor_name: Mapped[str | None] = mapped_column(String(350))
    creditor_sealed: Mapped[str] = mapped_column(Text)
    """``{"Identification", "SecondaryIdentification"}`` as JSON, sealed."""
    creditor_masked: Mapped[str] = mapped_column(String(12))
    instruction_identification: Mapped[str] = mapped_column(String(35))
    end_to_end_identification: Mapped[str] = mapped_column(String(35))
    references: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(4))
    status_reason: Mapped[str | None] = mapped_column(String(4))
    status_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """``[{"status": "RCVD", "at": "<ISO 8601>"}, ...]``, oldest first."""
    created_at: Mapped[datetime]
    status_updated_at: Mapped[datetime]
