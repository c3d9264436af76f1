"""Finishing an authorization once the user decided: consume the pushed request, record the
consent, issue the code (or access_denied) and answer the client in its response mode.

A request naming an open-banking consent (``consent_id``, see ``checks/intent.py``) shows
that consent: for account access its permissions in words, its expiry and the user's
accounts to choose from; for a domestic payment the amount, the payee and the account to
pay from (``consent/payment.py``). Approve authorises exactly that consent for the chosen
accounts (AWAU → AUTH), Deny rejects it (AWAU → RJCT). Other requests record a scope-only
consent, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from authserver.accounts.provider import Account
from authserver.checks.authorization_request import AuthorizationRequest
from authserver.checks.intent import DETAILS_TYPES
from authserver.checks.intent import RAR_FORM
from authserver.checks.intent import consent_problem
from authserver.clients.models import Client
from authserver.consent.lifecycle import IllegalTransition
from authserver.consent.payment import PAYMENT_KIND
from authserver.consent.payment import PaymentScreen
from authserver.consent.payment import payment_screen
from authserver.consent.service import PaymentLinkVoidError
from authserver.context import Services
from authserver.errors import InvalidRequestError
from authserver.errors import request_id
from authserver.experience import experience
from authserver.jarm.response import authorization_response
from authserver.openbanking.permissions import describe
from authserver.sca import session as user_session
from authserver.sca.session import Pending
from authserver.tokens.codes import CodeGrant

FOREIGN_ACCOUNT = "Only your own accounts can be shared."
LINK_VOID = (
    "The payment's details changed after you confirmed it, so your approval is void "
    "and nothing was paid. Please return to the company and start again."
)


class NoAccountChosenError(Exception):
    """Approve with no account ticked: the page is shown again, nothing is recorded."""


@dataclass(frozen=True)
class ConsentScreen:
    """What the consent page shows about an open-banking consent."""

    consent_id: str
    groups: list[tuple[str, list[str]]]
    """``describe``'s headings and lines, in the order a customer reads them."""
    ends: str
    accounts: tuple[Account, ...]


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _day(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def consent_screen(
    svc: Services, authorization: AuthorizationRequest, user_id: str
) -> ConsentScreen | PaymentScreen | None:
    """The named consent as the page shows it; None for a request without one. The consent
    is asked again (it may have been decided or expired while the user signed in)."""
    if authorization.consent_id is None:
        return None
    view = svc.consents.view(authorization.consent_id)
    problem = consent_problem(view, authorization.client_id, svc.clock.now())
    if problem is not None or view is None:
        raise InvalidRequestError(problem)
    accounts = tuple(experience().accounts.accounts_of(user_id))
    if view.kind == PAYMENT_KIND:
        return payment_screen(view, accounts, svc.initiations)
    groups = describe(
        view.permissions,
        _moment(view.details.get("TransactionFromDateTime")),
        _moment(view.details.get("TransactionToDateTime")),
    )
    ends = (
        f"This access ends on {_day(view.expires_at)}."
        if view.expires_at is not None
        else "This access has no end date."
    )
    return ConsentScreen(view.consent_id, groups, ends, accounts)


def chosen_accounts(selected: Sequence[str], screen: ConsentScreen) -> list[str]:
    """The accounts to record: at least one, each held by the user (a forged value is
    refused outright, never silently dropped)."""
    held = {account.account_id for account in screen.accounts}
    if any(value not in held for value in selected):
        raise InvalidRequestError(FOREIGN_ACCOUNT)
    chosen = list(dict.fromkeys(selected))
    if not chosen:
        raise NoAccountChosenError()
    return chosen


def _record(
    authorization: AuthorizationRequest,
    user_id: str,
    *,
    approved: bool,
    accounts: Sequence[str],
    linked: str | None,
    require_link: bool,
) -> str:
    """Record the decision; the id of the consent the code stands for."""
    consents = experience().consents
    if authorization.consent_id is None:
        return consents.decide(
            user_id=user_id,
            client_id=authorization.client_id,
            scopes=list(authorization.scopes),
            approved=approved,
            request_id=request_id(),
        ).id
    try:
        if approved:
            consents.authorise(
                authorization.consent_id,
                user_id=user_id,
                accounts=list(accounts),
                request_id=request_id(),
                require_link=require_link,
                linked=linked,
            )
        else:
            consents.reject(authorization.consent_id, user_id=user_id, request_id=request_id())
    except PaymentLinkVoidError:
        raise InvalidRequestError(LINK_VOID) from None
    except (IllegalTransition, LookupError):
        # Decided elsewhere between the page and this post (another tab, the TPP).
        raise InvalidRequestError("The consent is not awaiting authorisation.") from None
    return authorization.consent_id


def _granted_details(
    authorization: AuthorizationRequest, accounts: Sequence[str]
) -> tuple[dict[str, Any], ...]:
    """RFC 9396 §7: what was granted, when the request used authorization_details: the
    accounts shared, or for a payment the one account it is paid from."""
    if authorization.intent_form != RAR_FORM:
        return ()
    if authorization.details_type == DETAILS_TYPES[PAYMENT_KIND]:
        return (
            {
                "type": authorization.details_type,
                "consent_id": authorization.consent_id,
                "debtor_account": accounts[0],
            },
        )
    return (
        {
            "type": "account_access",
            "consent_id": authorization.consent_id,
            "accounts": list(accounts),
        },
    )


def refuse_authorization(
    svc: Services, client: Client, pending: Pending, error: str, description: str
) -> Response:
    """End the request with ``error`` at the client's redirect_uri (in its response mode),
    recording no decision: e.g. RFC 9470 ``unmet_authentication_requirements``."""
    authorization = svc.par.consume(pending.request_uri, pending.client_id)
    user_session.clear_pending()
    params = {"error": error, "error_description": description}
    return _respond(svc, client, authorization, params)


def _respond(
    svc: Services, client: Client, authorization: AuthorizationRequest, params: dict[str, str]
) -> Response:
    if authorization.state is not None:
        params["state"] = authorization.state
    return authorization_response(
        authorization.redirect_uri,
        authorization.response_mode,
        params,
        client,
        keys=svc.keys,
        issuer=svc.settings.issuer,
        policy=svc.policy,
        now=svc.clock.time(),
    )


def finish_authorization(
    svc: Services,
    client: Client,
    pending: Pending,
    user_id: str,
    *,
    approved: bool,
    accounts: Sequence[str] = (),
    require_link: bool = False,
) -> Response:
    """``accounts``: the accounts chosen for an open-banking consent (already checked).
    ``require_link``: a payment approval counts only with an authentication linked to the
    payment's current details (``ConsentService.authorise``)."""
    # FAPI 2.0 note 3: the request_uri is spent when authorization completes, not before.
    authorization = svc.par.consume(pending.request_uri, pending.client_id)
    user_session.clear_pending()
    consent_id = _record(
        authorization,
        user_id,
        approved=approved,
        accounts=accounts,
        linked=user_session.linked(),
        require_link=require_link and approved,
    )
    if approved:
        now = svc.clock.time()
        code = svc.codes.issue(
            CodeGrant(
                client_id=client.client_id,
                redirect_uri=authorization.redirect_uri,
                code_challenge=authorization.code_challenge,
                scopes=authorization.scopes,
                user_id=user_id,
                consent_id=consent_id,
                auth_time=float(user_session.auth_time() or now),
                issued_at=now,
                nonce=authorization.nonce,
                dpop_jkt=authorization.dpop_jkt,
                intent_claims=authorization.intent_claims,
                authorization_details=_granted_details(authorization, accounts),
                amr=tuple(user_session.amr()),
                acr=user_session.acr(),
            )
        )
        svc.audit.record(
            "code.issued",
            actor=f"user:{user_id}",
            resource=f"client:{client.client_id}",
            changes={"consent_id": consent_id, "scopes": list(authorization.scopes)},
            request_id=request_id(),
        )
        params = {"code": code}
    else:
        params = {"error": "access_denied", "error_description": "The user denied the request."}
    return _respond(svc, client, authorization, params)
