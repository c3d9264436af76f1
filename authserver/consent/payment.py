"""What the consent page shows about a domestic payment consent (UK OB v4.0 PISP), and the
one rule for the account it is paid from.

The consent's ``details`` hold the checked ``Initiation`` as the TPP sent it
(``openbanking/payment_initiation.py``): ``InstructedAmount`` {``Amount``, ``Currency``},
``CreditorAccount`` {``SchemeName``, ``Identification``, ``Name``, ...},
``RemittanceInformation`` {``Unstructured`` lines, ``Structured`` creditor references} and an
optional ``DebtorAccount``. The page shows the amount formatted for people by Babel (CLDR
data, the currency's own minor units) in British English, because the pages are in
English for UK customers: "£1,250.00", "€20.50", and "JP¥1,000" / "US$5.00" where the bare
symbol would be ambiguous. Account numbers are masked to their last four characters.

The account numbers are sealed at rest (``payments/sealed_initiation.py``): the payee is
shown by the stored ``Masked`` value, without opening anything; only a named
``DebtorAccount`` is opened (through ``InitiationSeal``), to find it among the user's
accounts.

The debtor account: when the Initiation names one it must be one of the user's accounts,
else the user cannot approve (``NOT_YOUR_DEBTOR``); when it names none the user picks
exactly one of theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from babel.numbers import format_currency

from authserver.accounts.provider import Account
from authserver.accounts.provider import AccountIdentifier
from authserver.checks.consent_gate import ConsentView
from authserver.errors import InvalidRequestError
from authserver.payments.sealed_initiation import InitiationSeal
from authserver.payments.sealed_initiation import stored_masked
from authserver.sca.linking import payment_digest

PAYMENT_KIND = "domestic_payment"
DISPLAY_LOCALE = "en_GB"
NOT_YOUR_DEBTOR = (
    "This payment is to be made from an account that is not yours, so you cannot approve "
    "it. Press Deny and ask the company to start again."
)
FOREIGN_DEBTOR = "Only one of your own accounts can pay."


class NoDebtorChosenError(Exception):
    """Approve with no account picked: the page is shown again, nothing is recorded."""


@dataclass(frozen=True)
class PaymentScreen:
    """What the consent page shows about a payment consent."""

    consent_id: str
    amount: str
    """The amount with its currency, for people: "£1,250.00"."""
    payee: str
    payee_account: str
    """The payee's account number masked: "••••1234"."""
    references: tuple[str, ...]
    accounts: tuple[Account, ...]
    """The user's accounts to pick from (when the Initiation names no debtor)."""
    named_debtor: Account | None = None
    """The user's account the Initiation names as ``DebtorAccount``."""
    debtor_problem: str | None = None
    """Why the user cannot approve (a ``DebtorAccount`` that is not theirs)."""
    currency: str = ""
    """The ISO 4217 code, shown beside the amount when the user confirms (dynamic linking)."""


def format_amount(amount: str, currency: str) -> str:
    """ "£1,250.00": Babel's CLDR symbol, grouping and the currency's minor units."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise InvalidRequestError("The payment cannot be shown.") from None
    return str(format_currency(value, currency, locale=DISPLAY_LOCALE))


def _references(remittance: Mapping[str, Any]) -> tuple[str, ...]:
    """Creditor references first (v4.0 ``Structured``), then the unstructured lines."""
    found = [
        str(item["CreditorReferenceInformation"]["Reference"])
        for item in remittance.get("Structured", ())
        if "Reference" in item.get("CreditorReferenceInformation", {})
    ]
    lines = remittance.get("Unstructured", ())
    found.extend([lines] if isinstance(lines, str) else [str(line) for line in lines])
    return tuple(found)


def _same(identifier: AccountIdentifier, named: Mapping[str, Any]) -> bool:
    def plain(value: object) -> str:
        return str(value).replace(" ", "").upper()

    return identifier.scheme_name == named.get("SchemeName") and plain(
        identifier.identification
    ) == plain(named.get("Identification"))


def _held(accounts: Sequence[Account], named: Mapping[str, Any]) -> Account | None:
    """The user's account a ``DebtorAccount`` names, by scheme and identification."""
    for account in accounts:
        if any(_same(identifier, named) for identifier in account.identifiers):
            return account
    return None


def payment_screen(
    view: ConsentView, accounts: Sequence[Account], initiations: InitiationSeal
) -> PaymentScreen:
    """The payment consent ``view`` as the page shows it to the holder of ``accounts``."""
    initiation: Mapping[str, Any] = view.details.get("Initiation", {})
    money = initiation["InstructedAmount"]
    creditor = initiation["CreditorAccount"]
    payee_account = stored_masked(initiation, "CreditorAccount")
    if payee_account is None:
        raise InvalidRequestError("The payment cannot be shown.")
    named = None
    if "DebtorAccount" in initiation:
        named = initiations.initiation(view)["DebtorAccount"]
    debtor = _held(accounts, named) if named is not None else None
    return PaymentScreen(
        consent_id=view.consent_id,
        amount=format_amount(money["Amount"], money["Currency"]),
        payee=str(creditor["Name"]),
        payee_account=payee_account,
        references=_references(initiation.get("RemittanceInformation", {})),
        accounts=tuple(accounts),
        named_debtor=debtor,
        debtor_problem=NOT_YOUR_DEBTOR if named is not None and debtor is None else None,
        currency=str(money["Currency"]),
    )


def chosen_debtor(selected: str | None, screen: PaymentScreen) -> str:
    """The AccountId to pay from: the named debtor, or the one account the user picked.
    A value that is not the user's (or not the named debtor) is refused outright."""
    if screen.debtor_problem is not None:
        raise InvalidRequestError(NOT_YOUR_DEBTOR)
    if screen.named_debtor is not None:
        if selected and selected != screen.named_debtor.account_id:
            raise InvalidRequestError(FOREIGN_DEBTOR)
        return screen.named_debtor.account_id
    if not selected:
        raise NoDebtorChosenError()
    if selected not in {account.account_id for account in screen.accounts}:
        raise InvalidRequestError(FOREIGN_DEBTOR)
    return selected


def payment_link(consent_id: str, initiation: Mapping[str, Any]) -> str:
    """The dynamic-linking hash (``sca/linking.py``) of an opened Initiation: the consent,
    the amount and currency as stored and the payee (creditor scheme, identification and
    name)."""
    money = initiation.get("InstructedAmount", {})
    creditor = initiation.get("CreditorAccount", {})
    return payment_digest(
        consent_id,
        str(money.get("Amount", "")),
        str(money.get("Currency", "")),
        {
            "scheme": str(creditor.get("SchemeName", "")),
            "identification": str(creditor.get("Identification", "")),
            "name": str(creditor.get("Name", "")),
        },
    )
