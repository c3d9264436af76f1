"""UK OB v4.0 account-access consents for TPPs: ``POST /account-access-consents``,
``GET`` and ``DELETE /account-access-consents/{ConsentId}`` under ``/open-banking/v4.0/aisp``.

A TPP creates a consent with a client-credentials token carrying ``accounts:read``
(DPoP-bound when the client is; ``require_token`` checks the proof). A token that
carries a ``consent_id`` came from the authorization-code flow: it opens the accounts,
never the consent endpoints. Consents are reached only through the consent gate; a
consent of another client, of another kind, or an id that is not one is 404.

``DELETE``: an authorised consent is cancelled (``AUTH`` → ``CANC``) and its tokens die
everywhere through the revocation service; one still awaiting authorisation is rejected
(``AWAU`` → ``RJCT``: v4.0 has no ``AWAU`` → ``CANC``); any other is left as it is (204).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response

from authserver.checks.consent_gate import ConsentView
from authserver.errors import request_id
from authserver.openbanking.account_access import DATE_FIELDS
from authserver.openbanking.account_access import KIND
from authserver.openbanking.account_access import parse_consent_request
from authserver.openbanking.envelope import AISP_PREFIX
from authserver.openbanking.envelope import ob_response
from authserver.openbanking.envelope import self_url
from authserver.resources.context import resource_services
from authserver.resources.guard import require_token
from authserver.resources.limits import rate_limited
from authserver.resources.ob_requests import client_credentials_client
from authserver.resources.ob_requests import json_body
from authserver.resources.ob_requests import own_consent

ACCOUNTS_READ = "accounts:read"
CONSENTS = "/account-access-consents"
WITHDRAWN = "withdrawn by the third party"
WITHDRAWN_BEFORE_AUTHORISATION = "withdrawn by the third party before authorisation"

bp = Blueprint("account_access_consents", __name__, url_prefix=AISP_PREFIX)


def _own_consent(consent_id: str, client_id: str) -> ConsentView:
    return own_consent(consent_id, client_id, KIND)


def _datetime(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _render(view: ConsentView, status: int = 200) -> Response:
    """``OBReadConsentResponse1``; the date fields as the TPP sent them (each has a zone)."""
    data: dict[str, Any] = {
        "ConsentId": view.consent_id,
        "CreationDateTime": _datetime(view.created_at),
        "Status": view.status,
        "StatusUpdateDateTime": _datetime(view.status_updated_at),
        "Permissions": list(view.permissions),
    }
    data.update({name: view.details[name] for name in DATE_FIELDS if name in view.details})
    own_url = self_url(f"{AISP_PREFIX}{CONSENTS}/{view.consent_id}")
    return ob_response(data, links={"Self": own_url}, extra={"Risk": {}}, status=status)


@bp.post(CONSENTS)
@require_token(ACCOUNTS_READ)
@rate_limited("consents")
def create_consent() -> Response:
    client_id = client_credentials_client()
    svc = resource_services()
    parsed = parse_consent_request(json_body(), now=svc.clock.now())
    view = svc.consents.create(
        client_id=client_id,
        kind=KIND,
        scopes=[ACCOUNTS_READ],
        details=parsed.details(),
        expires_at=parsed.expiration,
        request_id=request_id(),
    )
    return _render(view, status=201)


@bp.get(f"{CONSENTS}/<consent_id>")
@require_token(ACCOUNTS_READ)
@rate_limited("consents")
def get_consent(consent_id: str) -> Response:
    return _render(_own_consent(consent_id, client_credentials_client()))


@bp.delete(f"{CONSENTS}/<consent_id>")
@require_token(ACCOUNTS_READ)
@rate_limited("consents")
def delete_consent(consent_id: str) -> Response:
    client_id = client_credentials_client()
    view = _own_consent(consent_id, client_id)
    svc = resource_services()
    actor = f"client:{client_id}"
    if view.status == "AUTH":
        svc.revocations.revoke_consent(consent_id, actor=actor, reason=WITHDRAWN)
    elif view.status == "AWAU":
        svc.consents.reject_unauthorised(
            consent_id, actor=actor, reason=WITHDRAWN_BEFORE_AUTHORISATION
        )
    # RJCT, CANC, EXPD: already final; a repeated DELETE changes nothing.
    return Response(status=204)
