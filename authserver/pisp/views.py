"""UK OB v4.0 domestic payments under ``/open-banking/v4.0/pisp``: payment consents
(client-credentials token with ``payments:write``), their funds confirmation and the
payments (authorization-code token tied to the consent). Each view parses, makes one
service call and renders; POSTs go through ``signing.signed_idempotent_post``.

A consent or payment of another client, an unknown id or a consent of another kind is
404 ``U011``.
"""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import g

from authserver.checks.consent_gate import ConsentView
from authserver.checks.identifiers import is_identifier
from authserver.context import services
from authserver.errors import request_id
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.openbanking.errors import CONSENT_MISMATCH
from authserver.openbanking.errors import FIELD_INVALID_DATE
from authserver.openbanking.errors import INVALID_CONSENT_STATUS
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import bad_request
from authserver.openbanking.errors import forbidden
from authserver.openbanking.errors import not_found
from authserver.openbanking.payment_initiation import parse_domestic_payment
from authserver.openbanking.payment_initiation import parse_domestic_payment_consent
from authserver.payments.provider import Payment
from authserver.payments.sealed_initiation import InitiationSeal
from authserver.pisp import render
from authserver.pisp.render import CONSENTS
from authserver.pisp.render import ECHOED
from authserver.pisp.render import PAYMENTS
from authserver.pisp.service import KIND
from authserver.pisp.service import DomesticPayments
from authserver.pisp.service import create_consent as create_payment_consent
from authserver.pisp.signing import signed
from authserver.pisp.signing import signed_idempotent_post
from authserver.resources.context import resource_services
from authserver.resources.guard import require_token
from authserver.resources.limits import rate_limited
from authserver.resources.ob_requests import authorisation_code_consent
from authserver.resources.ob_requests import client_credentials_client
from authserver.resources.ob_requests import own_consent

PAYMENTS_WRITE = "payments:write"
MAX_ID_LENGTH = 128  # ConsentId maxLength (DomesticPaymentId's is 40)

bp = Blueprint("pisp", __name__, url_prefix=PISP_PREFIX)


def _payments() -> DomesticPayments:
    svc = resource_services()
    if svc.payments is None:  # only an app without a payment rail; it serves no route here
        raise not_found()
    return DomesticPayments(
        svc.consents, _initiations(), svc.payments, svc.audit, svc.clock, svc.outbox
    )


def _initiations() -> InitiationSeal:
    return services().initiations


def _own_consent(consent_id: str, client_id: str) -> ConsentView:
    return own_consent(consent_id, client_id, KIND)


def _own_payment(payment_id: str, client_id: str) -> tuple[Payment, ConsentView]:
    provider = resource_services().payments
    found = None
    if provider is not None and is_identifier(payment_id, max_length=MAX_ID_LENGTH):
        found = provider.payment(payment_id, client_id)
    view = None if found is None else resource_services().consents.view(found.consent_id)
    if found is None or view is None:
        raise not_found("No such payment.")
    return found, view


def _create_consent(client_id: str, body: bytes) -> Response:
    parsed = parse_domestic_payment_consent(body)
    completion = parsed.authorisation.completion_date_time if parsed.authorisation else None
    if completion is not None and completion <= resource_services().clock.now():
        message = "CompletionDateTime must be in the future."
        path = "Data.Authorisation.CompletionDateTime"
        raise bad_request(OBError(FIELD_INVALID_DATE, message, path))
    data = json.loads(body)["Data"]
    details = {name: data[name] for name in ECHOED if name in data}
    details["Risk"] = json.loads(parsed.risk_json)
    initiation = parsed.initiation.canonical()
    view = create_payment_consent(
        resource_services().consents,
        _initiations(),
        client_id=client_id,
        scopes=[PAYMENTS_WRITE],
        initiation=initiation,
        details=details,
        request_id=request_id(),
    )
    return render.consent(view, initiation, status=201)


@bp.post(CONSENTS)
@require_token(PAYMENTS_WRITE)
@rate_limited("consents")
def create_consent() -> Response:
    client_id = client_credentials_client()
    return signed_idempotent_post(client_id, lambda body: _create_consent(client_id, body))


@bp.get(f"{CONSENTS}/<consent_id>")
@require_token(PAYMENTS_WRITE)
@rate_limited("consents")
def get_consent(consent_id: str) -> Response:
    view = _own_consent(consent_id, client_credentials_client())
    return signed(render.consent(view, _initiations().initiation(view)))


@bp.get(f"{CONSENTS}/<consent_id>/funds-confirmation")
@require_token(PAYMENTS_WRITE)
@rate_limited("consents")
def funds_confirmation(consent_id: str) -> Response:
    token_consent = authorisation_code_consent()
    view = _own_consent(consent_id, str(g.token_claims["client_id"]))
    if token_consent != consent_id:
        message = "The token was not granted for this consent."
        raise forbidden(CONSENT_MISMATCH, message, "ConsentId")
    if view.status != "AUTH":
        message = "The consent is not authorised or has been used."
        raise bad_request(OBError(INVALID_CONSENT_STATUS, message))
    available = _payments().funds_available(view)
    return signed(render.funds(available, services().clock.now()))


def _make_payment(client_id: str, token_consent: str, body: bytes) -> Response:
    request = parse_domestic_payment(body)
    found, view = _payments().pay(client_id, token_consent, request, request_id=request_id())
    return render.payment(found, _initiations().initiation(view), status=201)


@bp.post(PAYMENTS)
@require_token(PAYMENTS_WRITE)
@rate_limited("payments")
def create_payment() -> Response:
    token_consent = authorisation_code_consent()
    client_id = str(g.token_claims["client_id"])
    return signed_idempotent_post(
        client_id, lambda body: _make_payment(client_id, token_consent, body)
    )


@bp.get(f"{PAYMENTS}/<payment_id>")
@require_token(PAYMENTS_WRITE)
@rate_limited("payments")
def get_payment(payment_id: str) -> Response:
    found, view = _own_payment(payment_id, client_credentials_client())
    return signed(render.payment(found, _initiations().initiation(view)))


@bp.get(f"{PAYMENTS}/<payment_id>/payment-details")
@require_token(PAYMENTS_WRITE)
@rate_limited("payments")
def get_payment_details(payment_id: str) -> Response:
    found, _ = _own_payment(payment_id, client_credentials_client())
    return signed(render.payment_details(found))
