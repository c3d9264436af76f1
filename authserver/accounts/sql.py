"""``SqlAccountProvider``: the ``AccountProvider`` over the bank's own tables.

Every query is a parameterised SQLAlchemy statement scoped to one user: an account id
the user does not hold matches nothing, whatever the caller asks. Account identifiers
and counterparty identifications are sealed with the account-data envelope (DATA-1),
each bound to its row by the seal's context (``account:<id>:identifiers``,
``transaction:<id>:counterparty``), and are opened only here, on the way out.

The provider also writes (``add_account``, ``add_transactions``), so sealing lives in
this one module; the caller's unit of work commits.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import overload

from sqlalchemy import ColumnElement
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import join
from sqlalchemy import select
from sqlalchemy import type_coerce

from authserver.accounts.models import AccountBalanceRow
from authserver.accounts.models import AccountRow
from authserver.accounts.models import AccountTransactionRow
from authserver.accounts.provider import CREDIT
from authserver.accounts.provider import DEBIT
from authserver.accounts.provider import Account
from authserver.accounts.provider import AccountIdentifier
from authserver.accounts.provider import Balance
from authserver.accounts.provider import Transaction
from authserver.accounts.provider import TransactionPage
from authserver.accounts.provider import TransactionQuery
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db

_CENT = Decimal("0.01")


def to_minor(amount: Decimal) -> int:
    """Exact pence; an amount with more than two decimal places is a caller's bug."""
    quantized = amount.quantize(_CENT)
    if quantized != amount:
        raise ValueError("amounts carry at most two decimal places")
    return int(quantized * 100)


def from_minor(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-2)


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: datetime | None) -> datetime | None: ...
def _utc(value: datetime | None) -> datetime | None:
    """What ``db.UTCDateTime`` does on reading, for the transactions read that bypasses it
    (a page is 100 rows of two date-times: its per-value processing was a real share of a
    request). Naive (SQLite) means UTC."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The transactions page's columns; date-times read as plain DateTime (see ``_utc``).
_T = AccountTransactionRow.__table__.c
_PAGE_COLUMNS = (
    _T.transaction_id,
    _T.account_id,
    _T.credit_debit,
    _T.status,
    type_coerce(_T.booked_at, DateTime(timezone=True)).label("booked_at"),
    type_coerce(_T.value_at, DateTime(timezone=True)).label("value_at"),
    _T.amount_minor,
    _T.currency,
    _T.information,
    _T.reference,
    _T.counterparty_name,
    _T.counterparty_scheme,
    _T.counterparty_sealed,
    _T.merchant_name,
    _T.merchant_category_code,
    _T.balance_after_minor,
)
_PAGE_WIDTH = len(_PAGE_COLUMNS)


def _transaction_filter(with_from: bool, with_to: bool, one_direction: bool) -> ColumnElement[bool]:
    """The page's WHERE over ``_OWNED_TRANSACTIONS``: the user's own accounts among those
    asked for (scoping is in the statement itself), then the booking window and the
    direction when given."""
    conditions: list[ColumnElement[bool]] = [
        AccountRow.user_id == bindparam("user_id"),
        AccountRow.account_id.in_(bindparam("account_ids", expanding=True)),
    ]
    if with_from:
        conditions.append(AccountTransactionRow.booked_at >= bindparam("booked_from"))
    if with_to:
        conditions.append(AccountTransactionRow.booked_at <= bindparam("booked_to"))
    if one_direction:
        conditions.append(AccountTransactionRow.credit_debit == bindparam("direction"))
    return and_(*conditions)


# Transactions joined to their account: the owner check is one primary-key probe per asked
# account, and each account's transactions are one range of the (account_id, booked_at)
# index. (An IN-subquery was planned as a probe of ``accounts`` for every transaction.)
_OWNED_TRANSACTIONS = join(
    AccountTransactionRow.__table__,
    AccountRow.__table__,
    AccountRow.account_id == AccountTransactionRow.account_id,
)


@functools.cache
def _page_statement(with_from: bool, with_to: bool, one_direction: bool) -> Select[Any]:
    """One round trip: the page with the filtered set's size and date range alongside
    (window functions are computed before LIMIT). Built once per shape (8 in all) with
    bound parameters: building a statement of this size cost more than running it."""
    booked = type_coerce(AccountTransactionRow.booked_at, DateTime(timezone=True))
    return (
        select(
            *_PAGE_COLUMNS,
            func.count().over().label("total"),
            func.min(booked).over().label("first_booked"),
            func.max(booked).over().label("last_booked"),
        )
        .select_from(_OWNED_TRANSACTIONS)
        .where(_transaction_filter(with_from, with_to, one_direction))
        # Newest first; the id breaks ties so pages never overlap or skip a row.
        .order_by(
            AccountTransactionRow.booked_at.desc(), AccountTransactionRow.transaction_id.desc()
        )
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
    )


@functools.cache
def _totals_statement(
    with_from: bool, with_to: bool, one_direction: bool
) -> Select[int, datetime, datetime]:
    return (
        select(
            func.count(),
            func.min(AccountTransactionRow.booked_at),
            func.max(AccountTransactionRow.booked_at),
        )
        .select_from(_OWNED_TRANSACTIONS)
        .where(_transaction_filter(with_from, with_to, one_direction))
    )


def identifiers_context(account_id: str) -> str:
    return f"account:{account_id}:identifiers"


def counterparty_context(transaction_id: str) -> str:
    return f"transaction:{transaction_id}:counterparty"


class SqlAccountProvider:
    """Reads (and, for seeding, writes) accounts; ``cipher`` holds the account-data key."""

    def __init__(self, cipher: Envelope) -> None:
        self._cipher = cipher

    # -- reading ---------------------------------------------------------------------

    def accounts_of(self, user_id: str) -> list[Account]:
        rows = db.session.scalars(
            select(AccountRow)
            .where(AccountRow.user_id == user_id)
            .order_by(AccountRow.created_at, AccountRow.account_id)
        )
        return [self._account(row) for row in rows]

    def accounts(self, user_id: str, account_ids: Sequence[str]) -> list[Account]:
        if not account_ids:
            return []
        rows = db.session.scalars(
            select(AccountRow)
            .where(AccountRow.user_id == user_id, AccountRow.account_id.in_(list(account_ids)))
            .order_by(AccountRow.created_at, AccountRow.account_id)
        )
        return [self._account(row) for row in rows]

    def holds(self, user_id: str, account_ids: Sequence[str]) -> frozenset[str]:
        if not account_ids:
            return frozenset()
        return frozenset(
            db.session.scalars(
                select(AccountRow.account_id).where(
                    AccountRow.user_id == user_id, AccountRow.account_id.in_(list(account_ids))
                )
            )
        )

    def balances(self, user_id: str, account_ids: Sequence[str]) -> list[Balance]:
        if not account_ids:
            return []
        rows = db.session.scalars(
            select(AccountBalanceRow)
            .join(AccountRow, AccountRow.account_id == AccountBalanceRow.account_id)
            .where(
                AccountRow.user_id == user_id,
                AccountBalanceRow.account_id.in_(list(account_ids)),
            )
            .order_by(AccountBalanceRow.account_id, AccountBalanceRow.type)
        )
        return [
            Balance(
                account_id=row.account_id,
                credit_debit=row.credit_debit,
                type=row.type,
                at=row.at,
                amount=from_minor(row.amount_minor),
                currency=row.currency,
            )
            for row in rows
        ]

    def transactions(self, user_id: str, query: TransactionQuery) -> TransactionPage:
        if not query.account_ids or not (query.credits or query.debits) or query.page < 1:
            return TransactionPage((), total_pages=1)
        direction = None if query.credits and query.debits else (CREDIT if query.credits else DEBIT)
        shape = (query.booked_from is not None, query.booked_to is not None, direction is not None)
        params: dict[str, Any] = {
            "user_id": user_id,
            "account_ids": list(query.account_ids),
            "booked_from": query.booked_from,
            "booked_to": query.booked_to,
            "direction": direction,
            "page_limit": query.page_size,
            "page_offset": (query.page - 1) * query.page_size,
        }
        # Core on the session's connection: no ORM entities are loaded, so the ORM's
        # statement handling is skipped too.
        connection = db.session.connection()
        rows = connection.execute(_page_statement(*shape), params).all()
        if rows:
            total, first, last = rows[0].total, rows[0].first_booked, rows[0].last_booked
        else:
            # A page past the end (or nothing at all): the totals need their own query.
            total, first, last = connection.execute(_totals_statement(*shape), params).one()
        return TransactionPage(
            tuple(self._transaction(row, query.counterparty_details) for row in rows),
            total_pages=max(1, math.ceil(int(total) / query.page_size)),
            first_available=_utc(first),
            last_available=_utc(last),
        )

    def _account(self, row: AccountRow) -> Account:
        opened = self._cipher.open(
            Sealed.from_text(row.identifiers_sealed), identifiers_context(row.account_id)
        )
        return Account(
            account_id=row.account_id,
            user_id=row.user_id,
            currency=row.currency,
            category=row.category,
            type_code=row.type_code,
            nickname=row.nickname,
            opening_date=row.opening_date,
            identifiers=tuple(_identifier(item) for item in json.loads(opened)),
        )

    def _transaction(self, row: Row[Any], counterparty: bool = True) -> Transaction:
        # Unpacked by position (the order of ``_PAGE_COLUMNS``; the window totals follow):
        # a page is 100 rows, and 16 attribute look-ups on each were a real share of it.
        (
            transaction_id,
            account_id,
            credit_debit,
            status,
            booked_at,
            value_at,
            amount_minor,
            currency,
            information,
            reference,
            counterparty_name,
            counterparty_scheme,
            counterparty_sealed,
            merchant_name,
            merchant_category_code,
            balance_after_minor,
        ) = row[:_PAGE_WIDTH]
        identification = None
        if counterparty and counterparty_sealed is not None:
            identification = self._cipher.open(
                Sealed.from_text(counterparty_sealed), counterparty_context(transaction_id)
            ).decode()
        return Transaction(
            transaction_id=transaction_id,
            account_id=account_id,
            credit_debit=credit_debit,
            status=status,
            booked_at=booked_at if booked_at.tzinfo is UTC else _utc(booked_at),
            value_at=value_at if value_at is None or value_at.tzinfo is UTC else _utc(value_at),
            amount=Decimal(amount_minor).scaleb(-2),
            currency=currency,
            information=information,
            reference=reference,
            counterparty_name=counterparty_name,
            counterparty_scheme=counterparty_scheme,
            counterparty_identification=identification,
            merchant_name=merchant_name,
            merchant_category_code=merchant_category_code,
            balance_after=None
            if balance_after_minor is None
            else Decimal(balance_after_minor).scaleb(-2),
        )

    # -- writing (seeding, imports) ------------------------------------------------------

    def has_accounts(self, user_id: str) -> bool:
        found = db.session.scalar(
            select(AccountRow.account_id).where(AccountRow.user_id == user_id).limit(1)
        )
        return found is not None

    def add_account(self, account: Account, balances: Iterable[Balance], now: datetime) -> None:
        """Stage ``account`` (identifiers sealed) and its balances; the caller commits."""
        plain = json.dumps([_identifier_json(item) for item in account.identifiers])
        db.session.add(
            AccountRow(
                account_id=account.account_id,
                user_id=account.user_id,
                currency=account.currency,
                category=account.category,
                type_code=account.type_code,
                nickname=account.nickname,
                opening_date=account.opening_date,
                identifiers_sealed=self._cipher.seal(
                    plain.encode(), identifiers_context(account.account_id)
                ).to_text(),
                masked=account.masked_number,
                created_at=now,
            )
        )
        # The account row first: the balances' foreign key points at it.
        db.session.flush()
        for balance in balances:
            db.session.add(
                AccountBalanceRow(
                    account_id=balance.account_id,
                    credit_debit=balance.credit_debit,
                    type=balance.type,
                    at=balance.at,
                    amount_minor=to_minor(balance.amount),
                    currency=balance.currency,
                )
            )

    def add_transactions(self, transactions: Iterable[Transaction]) -> None:
        """Stage ``transactions`` (counterparty identifications sealed); the caller commits."""
        db.session.add_all(
            AccountTransactionRow(
                transaction_id=item.transaction_id,
                account_id=item.account_id,
                credit_debit=item.credit_debit,
                status=item.status,
                booked_at=item.booked_at,
                value_at=item.value_at,
                amount_minor=to_minor(item.amount),
                currency=item.currency,
                information=item.information,
                reference=item.reference,
                counterparty_name=item.counterparty_name,
                counterparty_scheme=item.counterparty_scheme,
                counterparty_sealed=None
                if item.counterparty_identification is None
                else self._cipher.seal(
                    item.counterparty_identification.encode(),
                    counterparty_context(item.transaction_id),
                ).to_text(),
                merchant_name=item.merchant_name,
                merchant_category_code=item.merchant_category_code,
                balance_after_minor=None
                if item.balance_after is None
                else to_minor(item.balance_after),
            )
            for item in transactions
        )


def _identifier_json(item: AccountIdentifier) -> dict[str, Any]:
    return {
        "SchemeName": item.scheme_name,
        "Identification": item.identification,
        "Name": item.name,
        "SecondaryIdentification": item.secondary_identification,
    }


def _identifier(data: dict[str, Any]) -> AccountIdentifier:
    return AccountIdentifier(
        scheme_name=str(data["SchemeName"]),
        identification=str(data["Identification"]),
        name=data.get("Name"),
        secondary_identification=data.get("SecondaryIdentification"),
    )
