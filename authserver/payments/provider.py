"""The ``PaymentProvider`` protocol and the records it takes and returns.

The payment endpoints decide *whether* a payment may run (the consent, the token, the
exact Initiation); the provider only *executes* one order and reads it back. A bank's
implementation sends the order to its rail; ``payments.sql`` records it and debits the
demo account. Every read is scoped to the client that made the payment.

Statuses are ISO 20022 ``ExternalPaymentTransactionStatus1Code``: ``RCVD`` received,
``ACSP`` accepted and settlement in process, ``ACSC`` settled on the debtor's account,
``RJCT`` rejected (with a reason code, e.g. ``AM04`` insufficient funds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

RCVD = "RCVD"
ACSP = "ACSP"
ACSC = "ACSC"
RJCT = "RJCT"
INSUFFICIENT_FUNDS = "AM04"  # ISO 20022 ExternalStatusReason1Code: InsufficientFunds


@dataclass(frozen=True)
class Creditor:
    """``Initiation.CreditorAccount``; ``identification`` is tier-1 data (sealed at rest)."""

    scheme_name: str
    identification: str
    name: str | None
    secondary_identification: str | None = None

    @property
    def masked(self) -> str:
        """The last four characters only, for pages, logs and audit."""
        return "••••" + self.identification[-4:]


@dataclass(frozen=True)
class PaymentOrder:
    """One payment to execute, already allowed by its consent."""

    payment_id: str
    consent_id: str
    client_id: str
    user_id: str
    debtor_account_id: str
    amount: Decimal
    currency: str
    creditor: Creditor
    instruction_identification: str
    end_to_end_identification: str
    references: tuple[str, ...]
    """``RemittanceInformation``: the unstructured lines, then the structured references."""
    at: datetime


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: datetime


@dataclass(frozen=True)
class Payment:
    """A recorded payment; ``history`` is oldest first and ends with ``status``."""

    payment_id: str
    consent_id: str
    client_id: str
    user_id: str
    debtor_account_id: str
    amount: Decimal
    currency: str
    creditor: Creditor
    instruction_identification: str
    end_to_end_identification: str
    references: tuple[str, ...]
    status: str
    status_reason: str | None
    history: tuple[StatusChange, ...]
    created_at: datetime

    @property
    def status_updated_at(self) -> datetime:
        return self.history[-1].at


class PaymentProvider(Protocol):
    def execute(self, order: PaymentOrder) -> Payment:
        """Record ``order`` and move the money, in the caller's unit of work (staged, not
        committed: the caller commits it with the consent it consumes). An order the
        account cannot fund is recorded as ``RJCT`` with its reason, never raised."""

    def payment(self, payment_id: str, client_id: str) -> Payment | None:
        """The payment, if ``client_id`` made it; None otherwise."""

    def funds_available(
        self, user_id: str, account_id: str, amount: Decimal, currency: str
    ) -> bool:
        """Whether the user's account could pay ``amount`` now (the same rule as
        ``execute``); False for an account the user does not hold."""
