"""POST /par: authenticate, check a DPoP proof, validate like the authorization endpoint
would, store, answer 201."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.checks.authorization_request import check_no_request_uri
from authserver.checks.authorization_request import validate_authorization_request
from authserver.checks.form import read_form
from authserver.clients.models import Client
from authserver.context import Services
from authserver.context import services
from authserver.dpop.request import presented_proof
from authserver.errors import InvalidRequestError
from authserver.errors import request_id
from authserver.par.request_object import decode_request_object
from authserver.ratelimit.errors import RateLimitedError
from authserver.web.headers import offer_dpop_nonce

bp = Blueprint("par", __name__)
# RFC 9449 §8.2: every answer to a request with a proof carries the next nonce.
bp.after_request(offer_dpop_nonce)

PAR_PATH = "/par"


def _authorization_params(form: dict[str, str], client: Client, svc: Services) -> dict[str, str]:
    check_no_request_uri(form, client, svc.policy)
    if "request" not in form:
        # FAPI 2.0 Message Signing §5.3.1: clients configured for signing must sign.
        if svc.policy.require_signed_request_object or client.require_signed_request_object:
            raise InvalidRequestError("This client must send a signed request object.")
        return form
    inner = decode_request_object(
        form["request"],
        client,
        resolver=svc.client_keys,
        policy=svc.policy,
        issuer=svc.settings.issuer,
        now=svc.clock.time(),
    )
    # RFC 9101 §6.3: only the request object's parameters are used.
    return inner


@bp.post(PAR_PATH)
def pushed_authorization_request() -> Response:
    svc = services()
    form = read_form()
    # The proof first: a nonce round trip must not spend the client assertion's jti.
    proof = presented_proof(svc.dpop, PAR_PATH, require_nonce=svc.policy.dpop_nonce_required)
    client = svc.client_auth.authenticate(form)
    svc.rate_limits.enforce("par", client.client_id, client.rate_limit_tier, RateLimitedError)
    params = _authorization_params(form, client, svc)
    authorization = validate_authorization_request(
        params,
        client,
        svc.policy,
        consents=svc.consents,
        now=svc.clock.now(),
        proof_jkt=proof.jkt if proof is not None else None,
    )
    request_uri = svc.par.push(authorization, svc.policy.par_ttl)
    svc.audit.record(
        "par.created",
        actor=f"client:{client.client_id}",
        resource=f"client:{client.client_id}",
        changes={
            "scopes": list(authorization.scopes),
            "signed": "request" in form,
            "dpop_bound": authorization.dpop_jkt is not None,
            "consent_id": authorization.consent_id,
        },
        request_id=request_id(),
    )
    response = jsonify({"request_uri": request_uri, "expires_in": svc.policy.par_ttl})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
