"""The bank's account data: accounts, their balances and their transactions.

Identifiers that name a real account (sort code and number, IBAN, a counterparty's
account) are tier-1 data (DATA-1): they are stored only sealed with the account-data
envelope (``accounts.sql``), each bound to its row by the seal's context, so a copied
value does not open under another row. ``masked`` (the last four digits) is the only
form pages and logs ever see. Amounts are integer minor units (pence): exact on every
backend, and SQLite has no decimal type.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey


class AccountRow(Base):
    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """Opaque and stable (the v4.0 AccountId): never derived from the account number."""
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(20))
    type_code: Mapped[str] = mapped_column(String(4))
    nickname: Mapped[str] = mapped_column(String(70))
    opening_date: Mapped[date | None] = mapped_column(Date)
    identifiers_sealed: Mapped[str] = mapped_column(Text)
    """The JSON list of ``Account[]`` identifiers, sealed (``accounts.sql``)."""
    masked: Mapped[str] = mapped_column(String(12))
    """e.g. ``••••1234``: the one form of the number a page may show."""
    created_at: Mapped[datetime]


class AccountBalanceRow(UUIDPrimaryKey, Base):
    __tablename__ = "account_balances"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    credit_debit: Mapped[str] = mapped_column(String(6))
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    """Non-negative, in minor units; the sign is ``credit_debit``."""
    currency: Mapped[str] = mapped_column(String(3))


class AccountTransactionRow(Base):
    __tablename__ = "account_transactions"
    # The one access path: an account's transactions in a booking-date window, newest first.
    __table_args__ = (Index("ix_account_transactions_account_booked", "account_id", "booked_at"),)

    transaction_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    credit_debit: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(4))
    booked_at: Mapped[datetime]
    value_at: Mapped[datetime | None]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    information: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(35))
    counterparty_name: Mapped[str | None] = mapped_column(String(70))
    counterparty_scheme: Mapped[str | None] = mapped_column(String(40))
    counterparty_sealed: Mapped[str | None] = mapped_column(Text)
    """The counterparty's account identification, sealed (``accounts.sql``)."""
    merchant_name: Mapped[str | None] = mapped_column(String(350))
    merchant_category_code: Mapped[str | None] = mapped_column(String(4))
    balance_after_minor: Mapped[int | None] = mapped_column(BigInteger)
