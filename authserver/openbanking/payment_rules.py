"""The value rules of a payment (API-2): amount, currency and account identifiers.

- **Amount**: the standard's ``OBActiveCurrencyAndAmount_SimpleType`` pattern (up to 13
  integer digits, up to 5 decimals, no sign, no exponent), then ours: more than 0, at most
  1,000,000, and no more decimals than the currency's ISO 4217 minor units.
- **Currency**: three capitals that ISO 4217 lists (``pycountry``'s copy of the ISO table),
  else ``U002`` — the code set says invalid currencies are ``U002`` and keeps ``U023`` for
  real currencies the bank does not support. Minor units come from the ``iso4217`` package
  (the ISO maintenance agency's published table); a listed code without minor units
  (gold ``XAU``, the SDR ``XDR``, the test code ``XTS``, "no currency" ``XXX``) is not money
  one pays with: ``U023``.
- **Accounts**: ``UK.OBIE.IBAN`` (check digits, the country's length and structure, through
  ``schwifty``) and ``UK.OBIE.SortCodeAccountNumber`` (exactly 14 digits: a 6-digit sort
  code and an 8-digit account number). Other schemes of the code set (BBAN, PAN, Paym,
  Wallet) and unknown ones are ``U027`` (Unsupported.Scheme). An identifier that is not a
  valid one *for its scheme* is ``U021`` (Unsupported.AccountIdentifier, "unsupported for
  the given scheme"); one that breaks the generic schema (not a string, over 256
  characters) is ``U002``, as for any field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pycountry
from iso4217 import Currency
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from authserver.openbanking.errors import FIELD_INVALID
from authserver.openbanking.errors import UNSUPPORTED_CURRENCY
from authserver.openbanking.errors import UNSUPPORTED_SCHEME
from authserver.openbanking.fields import Problems
from authserver.openbanking.fields import text

UNSUPPORTED_ACCOUNT_IDENTIFIER = "U021"  # UK.OBIE.Unsupported.AccountIdentifier

SCHEME_IBAN = "UK.OBIE.IBAN"
SCHEME_SORT_CODE = "UK.OBIE.SortCodeAccountNumber"
SUPPORTED_SCHEMES = (SCHEME_IBAN, SCHEME_SORT_CODE)

MAX_AMOUNT = Decimal("1000000")
# OBActiveCurrencyAndAmount_SimpleType: ^\d{1,13}$|^\d{1,13}\.\d{1,5}$ (ASCII digits: Python's
# \d would also take other scripts' digits).
_AMOUNT = re.compile(r"[0-9]{1,13}(?:\.[0-9]{1,5})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SORT_CODE_ACCOUNT = re.compile(r"[0-9]{14}")
_COMPACT_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
IDENTIFICATION_MAX = 256  # Identification_0


def minor_units(code: str) -> int | None:
    """ISO 4217 minor units of ``code``; None when ISO defines none or lists no such code."""
    try:
        return Currency(code).exponent
    except ValueError:
        return None


def currency(problems: Problems, value: Any, path: str) -> str | None:
    """A payable ISO 4217 currency code, or None after recording why not."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        problems.add(FIELD_INVALID, "Must be an ISO 4217 currency code.", path)
        return None
    if pycountry.currencies.get(alpha_3=value) is None:
        problems.add(FIELD_INVALID, "Not an ISO 4217 currency code.", path)
        return None
    if minor_units(value) is None:
        problems.add(UNSUPPORTED_CURRENCY, "Currency not supported for payments.", path)
        return None
    return value


def amount(problems: Problems, value: Any, path: str, currency_code: str | None) -> Decimal | None:
    """The amount as a Decimal (exact: never a float), or None after recording why not.

    The decimals check needs the currency; when the currency itself failed, it is skipped
    (that failure is already reported)."""
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        problems.add(FIELD_INVALID, "Must be a decimal amount such as 10.50.", path)
        return None
    parsed = Decimal(value)
    if parsed <= 0:
        problems.add(FIELD_INVALID, "Must be more than zero.", path)
        return None
    if parsed > MAX_AMOUNT:
        problems.add(FIELD_INVALID, "Must be at most 1000000.", path)
        return None
    decimals = len(value.partition(".")[2])
    units = minor_units(currency_code) if currency_code is not None else None
    if units is not None and decimals > units:
        problems.add(FIELD_INVALID, f"The currency allows at most {units} decimals.", path)
        return None
    return parsed


def scheme(problems: Problems, value: Any, path: str) -> str | None:
    if not isinstance(value, str):
        problems.add(FIELD_INVALID, "Must be a string.", path)
        return None
    if value not in SUPPORTED_SCHEMES:
        problems.add(UNSUPPORTED_SCHEME, "Account scheme not supported.", path)
        return None
    return value


def identification(
    problems: Problems, value: Any, path: str, scheme_name: str | None
) -> str | None:
    """The account identifier, checked against its scheme when the scheme is supported."""
    found = text(problems, value, path, max_length=IDENTIFICATION_MAX)
    if found is None or scheme_name is None:
        return None
    if scheme_name == SCHEME_SORT_CODE and not _SORT_CODE_ACCOUNT.fullmatch(found):
        problems.add(
            UNSUPPORTED_ACCOUNT_IDENTIFIER,
            "Must be a 6-digit sort code followed by an 8-digit account number.",
            path,
        )
        return None
    if scheme_name == SCHEME_IBAN and not is_valid_iban(found):
        problems.add(UNSUPPORTED_ACCOUNT_IDENTIFIER, "Not a valid IBAN.", path)
        return None
    return found


def is_valid_iban(value: str) -> bool:
    """The electronic form only (no spaces, capitals), with valid check digits, length and
    structure for its country. schwifty would accept spaces and lower case; the wire form
    must be exact, because the payment's Initiation must equal the consent's byte for byte."""
    if not _COMPACT_IBAN.fullmatch(value):
        return False
    try:
        IBAN(value)
    except SchwiftyException:
        return False
    return True
