"""Account data for the accounts tests, written through the real provider (sealed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

from authserver.accounts.provider import CREDIT
from authserver.accounts.provider import DEBIT
from authserver.accounts.provider import Account
from authserver.accounts.provider import AccountIdentifier
from authserver.accounts.provider import Balance
from authserver.accounts.provider import Transaction
from authserver.accounts.sql import SqlAccountProvider
from authserver.db import db

SORT_CODE_NUMBER = "UK.OBIE.SortCodeAccountNumber"
IBAN = "UK.OBIE.IBAN"


def make_account(
    provider: SqlAccountProvider,
    user_id: str,
    account_id: str,
    number: str,
    now: datetime,
    *,
    nickname: str = "Everyday Account",
    balance: str = "100.00",
) -> Account:
    """One GBP current account with a booked balance (the caller commits)."""
    account = Account(
        account_id=account_id,
        user_id=user_id,
        currency="GBP",
        category="Personal",
        type_code="CACC",
        nickname=nickname,
        opening_date=date(2020, 1, 2),
        identifiers=(
            AccountIdentifier(SORT_CODE_NUMBER, number, name="A Person"),
            AccountIdentifier(IBAN, "GB33AUTH" + number),
        ),
    )
    provider.add_account(
        account, [Balance(account_id, CREDIT, "ITBD", now, Decimal(balance), "GBP")], now
    )
    return account


def make_transactions(
    account_id: str,
    start: datetime,
    count: int,
    *,
    step: timedelta = timedelta(days=1),
    prefix: str = "t",
) -> list[Transaction]:
    """``count`` transactions from ``start``, one per ``step``, alternating credit and debit
    (even indexes are credits); every debit has a counterparty account and a merchant."""
    return [
        Transaction(
            transaction_id=f"{prefix}-{account_id}-{index:04d}",
            account_id=account_id,
            credit_debit=CREDIT if index % 2 == 0 else DEBIT,
            status="BOOK",
            booked_at=start + step * index,
            value_at=start + step * index,
            amount=Decimal("10.50") + index,
            currency="GBP",
            information=f"ENTRY {index}",
            reference=f"REF{index}",
            counterparty_name="PAYEE LTD",
            counterparty_scheme=SORT_CODE_NUMBER,
            counterparty_identification="40998877665544",
            merchant_name="TESCO STORES" if index % 2 else None,
            merchant_category_code="5411" if index % 2 else None,
            balance_after=Decimal("1000.00") + index,
        )
        for index in range(count)
    ]


def store(provider: SqlAccountProvider, transactions: Sequence[Transaction]) -> None:
    provider.add_transactions(transactions)
    db.session.commit()
