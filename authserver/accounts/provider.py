"""The ``AccountProvider`` protocol and the records it returns.

The resource server asks only for what a consent allows (the accounts the user
selected, the consent's transaction window intersected with the query's, credits
and/or debits); the provider never decides what a TPP may see, it only answers
exact questions. Every method is scoped to one user, so a provider bug cannot
return another customer's account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Protocol

CREDIT = "Credit"
DEBIT = "Debit"


@dataclass(frozen=True)
class AccountIdentifier:
    """``OBAccount6.Account[]``: e.g. UK.OBIE.SortCodeAccountNumber / UK.OBIE.IBAN."""

    scheme_name: str
    identification: str
    name: str | None = None
    secondary_identification: str | None = None

    @property
    def masked(self) -> str:
        """The last four characters only, for pages and logs."""
        return "••••" + self.identification[-4:]


@dataclass(frozen=True)
class Account:
    account_id: str
    user_id: str
    currency: str
    category: str
    """OBInternalAccountType1Code: ``Personal`` or ``Business``."""
    type_code: str
    """OBExternalAccountSubType1Code, e.g. ``CACC`` (current), ``SVGS`` (savings)."""
    nickname: str
    opening_date: date | None
    identifiers: tuple[AccountIdentifier, ...]

    @property
    def masked_number(self) -> str:
        return self.identifiers[0].masked if self.identifiers else "••••"


@dataclass(frozen=True)
class Balance:
    account_id: str
    credit_debit: str
    """``Credit`` or ``Debit`` (OBCreditDebitCode_2)."""
    type: str
    """OBBalanceType1Code (v4.0, ISO codes), e.g. ``ITBD`` interim booked, ``ITAV`` interim
    available."""
    at: datetime
    amount: Decimal
    """Always non-negative: the sign is ``credit_debit``."""
    currency: str


@dataclass(frozen=True)
class Transaction:
    transaction_id: str
    account_id: str
    credit_debit: str
    status: str
    """ExternalEntryStatus1Code: ``BOOK`` or ``PDNG``."""
    booked_at: datetime
    value_at: datetime | None
    amount: Decimal
    currency: str
    information: str
    """TransactionInformation: what the customer's statement says."""
    reference: str | None = None
    counterparty_name: str | None = None
    counterparty_scheme: str | None = None
    counterparty_identification: str | None = None
    merchant_name: str | None = None
    merchant_category_code: str | None = None
    balance_after: Decimal | None = None


@dataclass(frozen=True)
class TransactionQuery:
    """An exact question: already narrowed to what the consent allows."""

    account_ids: Sequence[str]
    booked_from: datetime | None
    booked_to: datetime | None
    credits: bool
    debits: bool
    page: int = 1
    page_size: int = 100
    counterparty_details: bool = True
    """False when the consent is Basic: the counterparty's account is then never opened."""


@dataclass(frozen=True)
class TransactionPage:
    transactions: tuple[Transaction, ...]
    total_pages: int
    first_available: datetime | None = None
    last_available: datetime | None = None


class AccountProvider(Protocol):
    def accounts_of(self, user_id: str) -> list[Account]:
        """Every account the user holds, for the consent page's checklist."""

    def accounts(self, user_id: str, account_ids: Sequence[str]) -> list[Account]:
        """Those of ``account_ids`` the user holds, in a stable order."""

    def holds(self, user_id: str, account_ids: Sequence[str]) -> frozenset[str]:
        """Which of ``account_ids`` the user holds (no account data is opened)."""

    def balances(self, user_id: str, account_ids: Sequence[str]) -> list[Balance]:
        """The current balances of those of ``account_ids`` the user holds."""

    def transactions(self, user_id: str, query: TransactionQuery) -> TransactionPage:
        """One page of the user's transactions matching ``query``, newest first."""
