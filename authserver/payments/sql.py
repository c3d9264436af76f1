"""``SqlPaymentProvider``: payments recorded in SQL, paid from the demo account balances.

A payment runs inside the caller's unit of work, after the consent's compare-and-set
(AUTH → COND) has taken the consent's row: the payment row and the debit are staged
here and committed by the caller with the consent's move, so a consent pays exactly
once. The balance rows are read ``FOR UPDATE`` (PostgreSQL; SQLite's single writer
serialises anyway), so two consents paying from one account cannot both spend the
same money.

Funds rule (one place, also behind the funds confirmation): the account's available
balance (``ITAV``, else the booked ``ITBD``) in the payment's currency, signed by its
Credit/Debit indicator, must cover the amount; otherwise the payment is recorded as
``RJCT`` with ``AM04`` and nothing is debited. Every balance of that currency is
debited by the amount (the demo keeps interim booked and available in step).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from authserver.accounts.models import AccountBalanceRow
from authserver.accounts.models import AccountRow
from authserver.accounts.provider import CREDIT
from authserver.accounts.provider import DEBIT
from authserver.accounts.sql import to_minor
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db
from authserver.openbanking.payment_rules import minor_units
from authserver.payments.models import DomesticPaymentRow
from authserver.payments.provider import ACSC
from authserver.payments.provider import ACSP
from authserver.payments.provider import INSUFFICIENT_FUNDS
from authserver.payments.provider import RCVD
from authserver.payments.provider import RJCT
from authserver.payments.provider import Creditor
from authserver.payments.provider import Payment
from authserver.payments.provider import PaymentOrder
from authserver.payments.provider import StatusChange

AVAILABLE_FIRST = ("ITAV", "ITBD")


def creditor_context(payment_id: str) -> str:
    return f"payment:{payment_id}:creditor"


def _exponent(currency: str) -> int:
    units = minor_units(currency)
    if units is None:  # the request parser refuses such currencies; a caller's bug here
        raise ValueError("a currency without ISO 4217 minor units")
    return units


def _signed(row: AccountBalanceRow) -> int:
    return row.amount_minor if row.credit_debit == CREDIT else -row.amount_minor


def _available(rows: Sequence[AccountBalanceRow]) -> int | None:
    """The signed available balance in minor units; None when the account has none."""
    by_type = {row.type: row for row in rows}
    found = next((by_type[kind] for kind in AVAILABLE_FIRST if kind in by_type), None)
    return None if found is None else _signed(found)


def _covers(rows: Sequence[AccountBalanceRow], amount: Decimal) -> bool:
    available = _available(rows)
    if available is None:
        return False
    try:
        needed = to_minor(amount)  # the balance tables hold pence
    except ValueError:
        return False
    return available >= needed


class SqlPaymentProvider:
    """The ``PaymentProvider`` over our tables; ``cipher`` holds the account-data key."""

    def __init__(self, cipher: Envelope) -> None:
        self._cipher = cipher

    @staticmethod
    def _balances(
        user_id: str, account_id: str, currency: str, *, lock: bool
    ) -> list[AccountBalanceRow]:
        query = (
            select(AccountBalanceRow)
            .join(AccountRow, AccountRow.account_id == AccountBalanceRow.account_id)
            .where(
                AccountRow.user_id == user_id,
                AccountBalanceRow.account_id == account_id,
                AccountBalanceRow.currency == currency,
            )
            .order_by(AccountBalanceRow.type)
        )
        if lock:
            query = query.with_for_update(of=AccountBalanceRow)
        return list(db.session.scalars(query))

    def funds_available(
        self, user_id: str, account_id: str, amount: Decimal, currency: str
    ) -> bool:
        return _covers(self._balances(user_id, account_id, currency, lock=False), amount)

    def _debit(self, order: PaymentOrder) -> bool:
        rows = self._balances(order.user_id, order.debtor_account_id, order.currency, lock=True)
        if not _covers(rows, order.amount):
            return False
        needed = to_minor(order.amount)
        for row in rows:
            left = _signed(row) - needed
            row.credit_debit = CREDIT if left >= 0 else DEBIT
            row.amount_minor = abs(left)
            row.at = order.at
        return True

    def execute(self, order: PaymentOrder) -> Payment:
        paid = self._debit(order)
        steps = (RCVD, ACSP, ACSC) if paid else (RCVD, RJCT)
        secret = json.dumps(
            {
                "Identification": order.creditor.identification,
                "SecondaryIdentification": order.creditor.secondary_identification,
            }
        )
        row = DomesticPaymentRow(
            payment_id=order.payment_id,
            consent_id=order.consent_id,
            client_id=order.client_id,
            user_id=order.user_id,
            debtor_account_id=order.debtor_account_id,
            amount_minor=int(order.amount.scaleb(_exponent(order.currency))),
            currency=order.currency,
            creditor_scheme=order.creditor.scheme_name,
            creditor_name=order.creditor.name,
            creditor_sealed=self._cipher.seal(
                secret.encode(), creditor_context(order.payment_id)
            ).to_text(),
            creditor_masked=order.creditor.masked,
            instruction_identification=order.instruction_identification,
            end_to_end_identification=order.end_to_end_identification,
            references=list(order.references),
            status=steps[-1],
            status_reason=None if paid else INSUFFICIENT_FUNDS,
            status_history=[{"status": step, "at": order.at.isoformat()} for step in steps],
            created_at=order.at,
            status_updated_at=order.at,
        )
        db.session.add(row)
        db.session.flush()
        return self._payment(row)

    def payment(self, payment_id: str, client_id: str) -> Payment | None:
        row = db.session.scalar(
            select(DomesticPaymentRow).where(
                DomesticPaymentRow.payment_id == payment_id,
                DomesticPaymentRow.client_id == client_id,
            )
        )
        return None if row is None else self._payment(row)

    def _payment(self, row: DomesticPaymentRow) -> Payment:
        opened = json.loads(
            self._cipher.open(
                Sealed.from_text(row.creditor_sealed), creditor_context(row.payment_id)
            )
        )
        return Payment(
            payment_id=row.payment_id,
            consent_id=row.consent_id,
            client_id=row.client_id,
            user_id=row.user_id,
            debtor_account_id=row.debtor_account_id,
            amount=Decimal(row.amount_minor).scaleb(-_exponent(row.currency)),
            currency=row.currency,
            creditor=Creditor(
                scheme_name=row.creditor_scheme,
                identification=str(opened["Identification"]),
                name=row.creditor_name,
                secondary_identification=opened.get("SecondaryIdentification"),
            ),
            instruction_identification=row.instruction_identification,
            end_to_end_identification=row.end_to_end_identification,
            references=tuple(row.references),
            status=row.status,
            status_reason=row.status_reason,
            history=tuple(
                StatusChange(str(item["status"]), datetime.fromisoformat(str(item["at"])))
                for item in row.status_history
            ),
            created_at=row.created_at,
        )
