"""What the consent dashboard shows a person about each of their consents, in words.

The dashboard is where a customer checks what they gave away, so nothing on it is a wire
code: the kind ("Account access", "One payment"), the permissions through the same
``openbanking.permissions.describe`` the consent page used when they approved, the
payment through ``consent.payment.format_amount`` and the stored masked payee account,
their accounts masked to the last four characters, the status and the history's actors
and reasons in words.

Withdrawal (the one rule, ``can_withdraw``): an authorised account-access consent can be
withdrawn (AUTH → CANC, UK OB v4.0). A domestic payment consent cannot: v4.0 gives it no
CANC, and the TPP submits its one payment straight after the approval (AUTH → COND), so
the page says so instead of offering a button that would change nothing a person can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authserver.accounts.provider import Account
from authserver.checks.consent_gate import ConsentView
from authserver.consent.models import ACCOUNT_ACCESS
from authserver.consent.models import AUTH
from authserver.consent.models import COND
from authserver.consent.models import DOMESTIC_PAYMENT
from authserver.consent.models import STATUS_WORDS
from authserver.consent.models import ConsentStatusHistory
from authserver.consent.payment import format_amount
from authserver.errors import InvalidRequestError
from authserver.openbanking.permissions import describe
from authserver.payments.sealed_initiation import stored_masked
from authserver.scopes import SCOPES

KIND_WORDS = {ACCOUNT_ACCESS: "Account access", DOMESTIC_PAYMENT: "One payment"}
# A payment consent is not "active" for months: it is approved, then paid once.
PAYMENT_STATUS_WORDS = {AUTH: "Approved, not yet paid", COND: "Paid"}
REASON_WORDS = {
    "requested by the third party": "The company asked for it",
    "approved by the user": "You approved it",
    "rejected by the user": "You refused it",
    "withdrawn by the user": "You withdrew it",
    "withdrawn by the third party": "The company withdrew it",
    "expired": "It reached its end date",
}
PAYMENT_NOT_WITHDRAWABLE = (
    "A payment you approved cannot be withdrawn here: the company sends it straight after "
    "your approval. To stop a payment, contact the bank."
)


def _date(value: datetime | None) -> str | None:
    return None if value is None else f"{value.day} {value:%B %Y}"


def _moment(value: datetime) -> str:
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


def _iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def can_withdraw(view: ConsentView) -> bool:
    """The one rule for offering "Withdraw" (see the module docstring)."""
    return view.kind != DOMESTIC_PAYMENT and view.status == AUTH


def status_words(kind: str, status: str) -> str:
    if kind == DOMESTIC_PAYMENT and status in PAYMENT_STATUS_WORDS:
        return PAYMENT_STATUS_WORDS[status]
    return STATUS_WORDS.get(status, status)


@dataclass(frozen=True)
class PaymentWords:
    amount: str
    payee: str
    payee_account: str


@dataclass(frozen=True)
class ConsentSummary:
    """One consent as the dashboard lists it (and the detail page heads it)."""

    consent_id: str
    client_name: str
    kind: str
    status: str
    status_words: str
    groups: list[tuple[str, list[str]]]
    """Permissions in words, ``describe``'s headings and lines (or the OIDC scopes)."""
    payment: PaymentWords | None
    accounts: list[str]
    """The user's accounts the consent covers, "Nickname ••••1234"."""
    created: str
    expires: str | None
    withdrawable: bool


@dataclass(frozen=True)
class HistoryEntry:
    at: str
    actor: str
    status_words: str
    reason: str


def _payment(details: Mapping[str, Any]) -> PaymentWords:
    initiation: Mapping[str, Any] = details.get("Initiation", {})
    try:
        money = initiation["InstructedAmount"]
        payee = str(initiation["CreditorAccount"]["Name"])
    except (KeyError, TypeError):  # a consent stored without the checked shape
        raise InvalidRequestError("The payment cannot be shown.") from None
    return PaymentWords(
        amount=format_amount(str(money["Amount"]), str(money["Currency"])),
        payee=payee,
        payee_account=stored_masked(initiation, "CreditorAccount") or "••••",
    )


def _groups(view: ConsentView) -> list[tuple[str, list[str]]]:
    if view.kind == ACCOUNT_ACCESS and view.details.get("Permissions"):
        return describe(
            view.permissions,
            _iso(view.details.get("TransactionFromDateTime")),
            _iso(view.details.get("TransactionToDateTime")),
        )
    # A plain OAuth consent (no open-banking intent): what its scopes allow.
    lines = [SCOPES.get(scope, scope) for scope in view.scopes]
    return [("What it can do", lines)] if lines else []


def summarise(view: ConsentView, client_name: str, held: Sequence[Account]) -> ConsentSummary:
    """``view`` in words; ``held`` are the user's accounts (the covered ones are named)."""
    by_id = {account.account_id: account for account in held}
    accounts = [
        f"{by_id[account_id].nickname} {by_id[account_id].masked_number}"
        for account_id in view.selected_accounts
        if account_id in by_id
    ]
    is_payment = view.kind == DOMESTIC_PAYMENT
    return ConsentSummary(
        consent_id=view.consent_id,
        client_name=client_name,
        kind=KIND_WORDS.get(view.kind, view.kind),
        status=view.status,
        status_words=status_words(view.kind, view.status),
        groups=[] if is_payment else _groups(view),
        payment=_payment(view.details) if is_payment else None,
        accounts=accounts,
        created=_moment(view.created_at) if view.created_at else "",
        expires=_date(view.expires_at),
        withdrawable=can_withdraw(view),
    )


def actor_words(actor: str, user_id: str, client_id: str, client_name: str) -> str:
    """Who moved the consent: "You", the company's name, or the bank."""
    if actor == f"user:{user_id}":
        return "You"
    if actor == f"client:{client_id}":
        return client_name
    return "The bank"


def history(
    rows: Sequence[ConsentStatusHistory], view: ConsentView, user_id: str, client_name: str
) -> list[HistoryEntry]:
    entries = []
    for row in rows:
        words = status_words(view.kind, row.to_status)
        reason = REASON_WORDS.get(row.reason)
        if reason is None and row.reason.startswith("used by payment"):
            reason = "The company made the payment"
        entries.append(
            HistoryEntry(
                at=_moment(row.at),
                actor=actor_words(row.actor, user_id, view.client_id, client_name),
                status_words=words,
                reason=reason or row.reason,
            )
        )
    return entries
