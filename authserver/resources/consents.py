"""DELETE /consents/<id>: the TPP withdraws a consent it holds (open-banking style).

Withdrawal goes through the revocation service like every other path, so the
consent's tokens die at every resource server; another client's consent is a 404.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import g

from authserver.checks.identifiers import is_identifier
from authserver.resources.context import resource_services
from authserver.resources.guard import require_token

bp = Blueprint("consent_api", __name__)


@bp.delete("/consents/<consent_id>")
@require_token()
def withdraw_consent(consent_id: str) -> Response:
    svc = resource_services()
    client_id = str(g.token_claims["client_id"])
    consent = svc.consents.view(consent_id) if is_identifier(consent_id) else None
    if consent is None or consent.client_id != client_id:
        abort(404)
    svc.revocations.revoke_consent(
        consent_id, actor=f"client:{client_id}", reason="withdrawn by the third party"
    )
    return Response(status=204)
