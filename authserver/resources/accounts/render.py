"""The v4.0 wire shapes: ``OBAccount6``, ``OBReadBalance1`` balances, ``OBTransaction6``.

Data minimisation happens here, from the consent's ``AccessScope``:

- accounts: ``Account[]`` (scheme, identification, name, secondary identification) only
  with ReadAccountsDetail; ReadAccountsBasic shows id, currency, category, type,
  nickname and opening date;
- transactions with ReadTransactionsBasic drop exactly these Detail-only fields:
  ``TransactionReference``, ``CreditorAccount`` / ``DebtorAccount`` (the counterparty's
  scheme, identification and name), ``MerchantDetails`` and ``Balance``. Basic keeps
  ``AccountId``, ``TransactionId``, ``CreditDebitIndicator``, ``Status``,
  ``BookingDateTime``, ``ValueDateTime``, ``TransactionInformation`` (the statement's
  words, "descriptions" on the consent page) and ``Amount``. No agent is stored, so
  ``CreditorAgent`` / ``DebtorAgent`` are never sent.

Amounts are decimal strings with two places; date-times are ISO 8601 with ``+00:00``.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from decimal import Decimal
from typing import Any

from authserver.accounts.provider import CREDIT
from authserver.accounts.provider import DEBIT
from authserver.accounts.provider import Account
from authserver.accounts.provider import Balance
from authserver.accounts.provider import Transaction
from authserver.openbanking.permissions import AccessScope

BALANCE_AFTER_TYPE = "ITBD"
"""``Balance.Type`` of a transaction's running balance: interim booked."""


def instant(value: datetime) -> str:
    # Most values already are UTC (the provider reads them so): skip the conversion then.
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    return utc.isoformat(timespec="seconds")


def _day(value: date) -> str:
    return instant(datetime.combine(value, time(0), tzinfo=UTC))


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"Amount": f"{amount:.2f}", "Currency": currency}


def account(item: Account, scope: AccessScope) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AccountId": item.account_id,
        "Currency": item.currency,
        "AccountCategory": item.category,
        "AccountTypeCode": item.type_code,
        "Nickname": item.nickname,
    }
    if item.opening_date is not None:
        body["OpeningDate"] = _day(item.opening_date)
    if scope.account_details:
        body["Account"] = [
            {
                key: value
                for key, value in (
                    ("SchemeName", identifier.scheme_name),
                    ("Identification", identifier.identification),
                    ("Name", identifier.name),
                    ("SecondaryIdentification", identifier.secondary_identification),
                )
                if value is not None
            }
            for identifier in item.identifiers
        ]
    return body


def balance(item: Balance) -> dict[str, Any]:
    return {
        "AccountId": item.account_id,
        "CreditDebitIndicator": item.credit_debit,
        "Type": item.type,
        "DateTime": instant(item.at),
        "Amount": money(item.amount, item.currency),
    }


def transaction(item: Transaction, scope: AccessScope) -> dict[str, Any]:
    # Called 100 times a page: plain ifs, and UTC values (what the provider reads)
    # formatted without the call into ``instant``.
    booked, valued, currency = item.booked_at, item.value_at, item.currency
    body: dict[str, Any] = {
        "AccountId": item.account_id,
        "TransactionId": item.transaction_id,
        "CreditDebitIndicator": item.credit_debit,
        "Status": item.status,
        "BookingDateTime": booked.isoformat(timespec="seconds")
        if booked.tzinfo is UTC
        else instant(booked),
    }
    if valued is not None:
        body["ValueDateTime"] = (
            valued.isoformat(timespec="seconds") if valued.tzinfo is UTC else instant(valued)
        )
    body["TransactionInformation"] = item.information
    body["Amount"] = {"Amount": f"{item.amount:.2f}", "Currency": currency}
    if not scope.transaction_details:
        return body
    if item.reference is not None:
        body["TransactionReference"] = item.reference
    balance_after = item.balance_after
    if balance_after is not None:
        body["Balance"] = {
            "CreditDebitIndicator": CREDIT if balance_after >= 0 else DEBIT,
            "Type": BALANCE_AFTER_TYPE,
            "Amount": {"Amount": f"{abs(balance_after):.2f}", "Currency": currency},
        }
    merchant: dict[str, str] = {}
    if item.merchant_name is not None:
        merchant["MerchantName"] = item.merchant_name
    if item.merchant_category_code is not None:
        merchant["MerchantCategoryCode"] = item.merchant_category_code
    if merchant:
        body["MerchantDetails"] = merchant
    counterparty: dict[str, str] = {}
    if item.counterparty_scheme is not None:
        counterparty["SchemeName"] = item.counterparty_scheme
    if item.counterparty_identification is not None:
        counterparty["Identification"] = item.counterparty_identification
    if item.counterparty_name is not None:
        counterparty["Name"] = item.counterparty_name
    if counterparty:
        # Money out goes to a creditor; money in comes from a debtor.
        body["CreditorAccount" if item.credit_debit == DEBIT else "DebtorAccount"] = counterparty
    return body
