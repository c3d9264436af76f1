"""Who may read what: the one access check of every accounts endpoint (TOK-7).

``account_access(need, account_id)`` runs after ``require_token("accounts:read")`` (which
checked the token, its DPoP proof and its revocation) and answers with the consent's
grant narrowed to the request, or raises the endpoint's 403:

- the token carries a ``consent_id`` (an authorization-code token; a client-credentials
  token has none), and that consent is an account-access consent held by the token's
  client, in status AUTH (``view`` moves an expired one to EXPD first);
- the consent's permissions (``openbanking.permissions.access_scope``) grant the data
  asked for: accounts need ReadAccountsBasic or Detail, balances ReadBalances,
  transactions a ReadTransactions level and direction;
- a named AccountId is one the user selected on the consent page and holds.

Every refusal is a 403 with an ``OBErrorResponse1`` body, never an empty 200; the codes
are chosen here only (``REFUSED_*``). Every read is an audit event (``record_read``).
Account numbers never reach a log or the audit trail: only account ids do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Literal

from flask import g
from flask import request

from authserver.accounts.provider import AccountProvider
from authserver.checks.identifiers import is_identifier
from authserver.openbanking.envelope import interaction_id
from authserver.openbanking.errors import INVALID_CONSENT_STATUS
from authserver.openbanking.errors import RESOURCE_NOT_FOUND
from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.errors import forbidden
from authserver.openbanking.permissions import AccessScope
from authserver.openbanking.permissions import access_scope
from authserver.resources.context import resource_services

ACCOUNT_ACCESS = "account_access"
AUTHORISED = "AUTH"

# The codes of the refusals, in one place. The codeset has no "permission not granted"
# code: a consent that does not allow the request is, for this request, in the wrong
# state (U009). An AccountId outside the consent does not exist for this TPP (U011).
REFUSED_CONSENT = INVALID_CONSENT_STATUS
REFUSED_PERMISSION = INVALID_CONSENT_STATUS
REFUSED_ACCOUNT = RESOURCE_NOT_FOUND

Need = Literal["accounts", "balances", "transactions"]
_PERMISSION_WORDS: dict[str, str] = {
    "accounts": "ReadAccountsBasic or ReadAccountsDetail",
    "balances": "ReadBalances",
    "transactions": "ReadTransactionsBasic or ReadTransactionsDetail with Credits or Debits",
}


@dataclass(frozen=True)
class AccountAccess:
    """What this request may read: the consent's grant, narrowed to the asked account."""

    consent_id: str
    client_id: str
    user_id: str
    scope: AccessScope
    account_ids: tuple[str, ...]
    """The selected accounts, or just the one the path names."""
    transactions_from: datetime | None
    transactions_to: datetime | None
    provider: AccountProvider


def _refuse(code: str, message: str, path: str | None = None) -> OBErrorResponse:
    return forbidden(code, message, path)


def _granted(scope: AccessScope, need: Need) -> bool:
    if need == "accounts":
        return scope.accounts
    if need == "balances":
        return scope.balances
    return scope.transactions


def consent_instant(value: Any) -> datetime | None:
    """A consent's TransactionFrom/ToDateTime as an aware UTC datetime (naive means UTC)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a date-time")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def account_access(need: Need, account_id: str | None = None) -> AccountAccess:
    """The grant for this request, or the 403 that refuses it (see the module docstring)."""
    svc = resource_services()
    provider = svc.accounts
    if provider is None:  # the blueprint is registered only with a provider
        raise _refuse(REFUSED_CONSENT, "Account data is not served here.")
    claims: dict[str, Any] = g.token_claims
    consent_id = claims.get("consent_id")
    client_id = str(claims.get("client_id", ""))
    if not is_identifier(consent_id):
        raise _refuse(REFUSED_CONSENT, "The access token carries no account-access consent.")
    consent = svc.consents.view(str(consent_id))
    if (
        consent is None
        or consent.kind != ACCOUNT_ACCESS
        or consent.client_id != client_id
        or consent.user_id is None
    ):
        raise _refuse(REFUSED_CONSENT, "The access token carries no account-access consent.")
    if consent.status != AUTHORISED:
        raise _refuse(REFUSED_CONSENT, f"The consent is {consent.status}, not AUTH.")
    scope = access_scope(consent.permissions)
    if not _granted(scope, need):
        raise _refuse(REFUSED_PERMISSION, f"The consent does not grant {_PERMISSION_WORDS[need]}.")
    try:
        window_from = consent_instant(consent.details.get("TransactionFromDateTime"))
        window_to = consent_instant(consent.details.get("TransactionToDateTime"))
    except ValueError:
        # Validated when the consent was created; unreadable now means refuse, not guess.
        raise _refuse(REFUSED_CONSENT, "The consent's transaction window is unreadable.") from None
    selected = tuple(consent.selected_accounts)
    if account_id is not None:
        # Selected on the consent page and (still) the user's: anything else is refused.
        if account_id not in selected or not provider.holds(consent.user_id, [account_id]):
            raise _refuse(REFUSED_ACCOUNT, "No such account under this consent.", "AccountId")
        selected = (account_id,)
    return AccountAccess(
        consent_id=consent.consent_id,
        client_id=client_id,
        user_id=consent.user_id,
        scope=scope,
        account_ids=selected,
        transactions_from=window_from,
        transactions_to=window_to,
        provider=provider,
    )


def record_read(access: AccountAccess, account_ids: list[str]) -> None:
    """One audit event per data access: which consent, which accounts, which resource."""
    resource_services().audit.record(
        "account_data.read",
        actor=f"client:{access.client_id}",
        resource=f"consent:{access.consent_id}",
        changes={
            "accounts": account_ids,
            "path": request.path,
            "fapi_interaction_id": interaction_id(),
        },
        request_id=str(g.get("request_id", "-")),
    )
