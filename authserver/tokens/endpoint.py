"""POST /token: check the DPoP proof, authenticate the client, run its grant's ordered
checks and handler (``tokens.registry``), answer with no-store."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.checks.form import read_form
from authserver.context import services
from authserver.dpop.request import presented_proof
from authserver.ratelimit.errors import RateLimitedError
from authserver.tokens.registry import GrantRequest
from authserver.tokens.registry import run_grant
from authserver.tokens.registry import select_grant
from authserver.web.headers import offer_dpop_nonce

bp = Blueprint("tokens", __name__)
# RFC 9449 §8.2: every answer to a request with a proof carries the next nonce.
bp.after_request(offer_dpop_nonce)

TOKEN_PATH = "/token"


@bp.post(TOKEN_PATH)
def token() -> Response:
    svc = services()
    form = read_form()
    # The proof first: a nonce round trip must not spend the client assertion's jti.
    proof = presented_proof(svc.dpop, TOKEN_PATH, require_nonce=svc.policy.dpop_nonce_required)
    client = svc.client_auth.authenticate(form)
    svc.rate_limits.enforce("token", client.client_id, client.rate_limit_tier, RateLimitedError)
    grant_type, grant = select_grant(form.get("grant_type"), svc.policy)
    # The grant commits the token with its audit event, in one transaction.
    body = run_grant(grant, GrantRequest(svc, client, grant_type, form, proof))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
