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

What a consent grants is read from SQL at most every ``GRANT_CACHE_SECONDS`` per process
(``GrantCache``): the consent row and the ownership of its selected accounts cost two
queries, and a TPP reads page after page under one consent. Only an AUTH consent is
kept, and a kept one is used only while all of these hold, so a stale AUTH is never
served beyond the token path's own propagation time:

- no consent revocation is known since it was read: every move out of AUTH (DELETE,
  the dashboard, an operator, ``consents expire``) goes with a consent watermark in the
  revocation view, which ``RevocationView.is_revoked`` reports as for a token issued
  when the entry was read (this also refuses a token issued after the withdrawal);
- its ExpirationDateTime has not passed (else ``view`` runs, and moves it to EXPD);
- it is younger than ``GRANT_CACHE_SECONDS`` (bounds an account leaving the user; the
  provider's queries are scoped to the user anyway, so that never leaks data).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Literal

from flask import current_app
from flask import g
from flask import request

from authserver.accounts.provider import AccountProvider
from authserver.checks.consent_gate import ConsentView
from authserver.checks.identifiers import is_identifier
from authserver.openbanking.envelope import interaction_id
from authserver.openbanking.errors import INVALID_CONSENT_STATUS
from authserver.openbanking.errors import RESOURCE_NOT_FOUND
from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.errors import forbidden
from authserver.openbanking.permissions import AccessScope
from authserver.openbanking.permissions import access_scope
from authserver.resources.context import ResourceServices
from authserver.resources.context import resource_services

ACCOUNT_ACCESS = "account_access"
AUTHORISED = "AUTH"

# The codes of the refusals, in one place. The codeset has no "permission not granted"
# code: a consent that does not allow the request is, for this request, in the wrong
# state (U009). An AccountId outside the consent does not exist for this TPP (U011).
REFUSED_CONSENT = INVALID_CONSENT_STATUS
REFUSED_PERMISSION = INVALID_CONSENT_STATUS
REFUSED_ACCOUNT = RESOURCE_NOT_FOUND

GRANT_CACHE_SECONDS = 0.5
GRANT_CACHE_SIZE = 10_000
"""Entries kept per process before the oldest half is dropped (one per live consent)."""
_GRANT_CACHE_KEY = "authserver.accounts.grants"

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


@dataclass(frozen=True)
class Grant:
    """What an AUTH account-access consent allows, as read from SQL at ``read_at``."""

    consent: ConsentView
    user_id: str
    scope: AccessScope
    transactions_from: datetime | None
    transactions_to: datetime | None
    held: frozenset[str]
    """The selected accounts the user held when this was read."""
    read_at: float
    """``Clock.time()`` of the read: the revocation view is asked about later withdrawals."""
    fresh_until: float
    """``time.monotonic()`` after which the entry is read again."""


class GrantCache:
    """Per-process grants of AUTH consents, by consent id (see the module docstring).

    Plain dict operations (atomic under the GIL); the lock only serialises pruning."""

    def __init__(self) -> None:
        self._entries: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def get(self, consent_id: str) -> Grant | None:
        found = self._entries.get(consent_id)
        if found is None or found.fresh_until <= time.monotonic():
            return None
        return found

    def put(self, grant: Grant) -> None:
        if len(self._entries) >= GRANT_CACHE_SIZE:
            with self._lock:
                for consent_id in list(self._entries)[: GRANT_CACHE_SIZE // 2]:
                    self._entries.pop(consent_id, None)
        self._entries[grant.consent.consent_id] = grant

    def drop(self, consent_id: str) -> None:
        self._entries.pop(consent_id, None)


def _grant_cache() -> GrantCache:
    # One per app (each test app starts empty); setdefault keeps a racing first use to one.
    cache: GrantCache = current_app.extensions.setdefault(_GRANT_CACHE_KEY, GrantCache())
    return cache


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


def _withdrawn_since(svc: ResourceServices, grant: Grant) -> bool:
    """A consent revocation known since ``grant`` was read (or the state is unknown: then
    StoreUnavailableError, a 503). Asked as for a token of this consent issued one
    second before the read, so a watermark of the same second counts (fail safe)."""
    return svc.revocation_view.is_revoked(
        {"consent_id": grant.consent.consent_id, "iat": int(grant.read_at) - 1}
    )


def _usable(svc: ResourceServices, grant: Grant | None) -> Grant | None:
    if grant is None:
        return None
    expires_at = grant.consent.expires_at
    if expires_at is not None and expires_at <= svc.clock.now():
        return None  # view() moves it to EXPD (committed) and refuses it
    if _withdrawn_since(svc, grant):
        return None
    return grant


def _read_grant(
    svc: ResourceServices, provider: AccountProvider, consent_id: str, client_id: str
) -> Grant:
    """The consent from SQL (moved to EXPD first when due), checked to be an
    account-access consent of ``client_id`` in AUTH (another client's consent is refused
    before its status is named), with the ownership of its selected accounts; else the 403."""
    read_at = svc.clock.time()
    consent = svc.consents.view(consent_id)
    if (
        consent is None
        or consent.kind != ACCOUNT_ACCESS
        or consent.client_id != client_id
        or consent.user_id is None
    ):
        raise _refuse(REFUSED_CONSENT, "The access token carries no account-access consent.")
    if consent.status != AUTHORISED:
        raise _refuse(REFUSED_CONSENT, f"The consent is {consent.status}, not AUTH.")
    try:
        window_from = consent_instant(consent.details.get("TransactionFromDateTime"))
        window_to = consent_instant(consent.details.get("TransactionToDateTime"))
    except ValueError:
        # Validated when the consent was created; unreadable now means refuse, not guess.
        raise _refuse(REFUSED_CONSENT, "The consent's transaction window is unreadable.") from None
    selected = list(consent.selected_accounts)
    return Grant(
        consent=consent,
        user_id=consent.user_id,
        scope=access_scope(consent.permissions),
        transactions_from=window_from,
        transactions_to=window_to,
        held=provider.holds(consent.user_id, selected) if selected else frozenset(),
        read_at=read_at,
        fresh_until=time.monotonic() + GRANT_CACHE_SECONDS,
    )


def _grant(
    svc: ResourceServices, provider: AccountProvider, consent_id: str, client_id: str
) -> Grant:
    cache = _grant_cache()
    grant = _usable(svc, cache.get(consent_id))
    if grant is None:
        cache.drop(consent_id)
        grant = _read_grant(svc, provider, consent_id, client_id)
        cache.put(grant)
    elif grant.consent.client_id != client_id:
        raise _refuse(REFUSED_CONSENT, "The access token carries no account-access consent.")
    return grant


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
    grant = _grant(svc, provider, str(consent_id), client_id)
    if not _granted(grant.scope, need):
        raise _refuse(REFUSED_PERMISSION, f"The consent does not grant {_PERMISSION_WORDS[need]}.")
    selected = grant.consent.selected_accounts
    if account_id is not None:
        # Selected on the consent page and (still) the user's: anything else is refused.
        if account_id not in selected or account_id not in grant.held:
            raise _refuse(REFUSED_ACCOUNT, "No such account under this consent.", "AccountId")
        selected = (account_id,)
    return AccountAccess(
        consent_id=grant.consent.consent_id,
        client_id=client_id,
        user_id=grant.user_id,
        scope=grant.scope,
        account_ids=selected,
        transactions_from=grant.transactions_from,
        transactions_to=grant.transactions_to,
        provider=provider,
    )


def record_read(access: AccountAccess, account_ids: list[str]) -> None:
    """One audit event per data access: which consent, which accounts, which resource."""
    resource_services().audit.append(
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
