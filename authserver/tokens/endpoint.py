"""POST /token: authenticate the client, check its DPoP proof, dispatch to its grant,
answer with no-store."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.checks.form import read_form
from authserver.clients.models import Client
from authserver.context import services
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.proof import DPoPProof
from authserver.dpop.request import presented_proof
from authserver.errors import InvalidRequestError
from authserver.errors import request_id
from authserver.tokens.errors import UnauthorizedClientError
from authserver.tokens.errors import UnsupportedGrantTypeError
from authserver.tokens.grants import GRANTS
from authserver.web.headers import offer_dpop_nonce

bp = Blueprint("tokens", __name__)
# RFC 9449 §8.2: every answer to a request with a proof carries the next nonce.
bp.after_request(offer_dpop_nonce)

TOKEN_PATH = "/token"


def _require_proof_if_bound(client: Client, proof: DPoPProof | None) -> None:
    # RFC 9449 §5.2: dpop_bound_access_tokens clients never get a Bearer token.
    if proof is None and client.dpop_bound_access_tokens:
        raise InvalidDPoPProofError("This client must send a DPoP proof.")


@bp.post(TOKEN_PATH)
def token() -> Response:
    svc = services()
    form = read_form()
    # The proof first: a nonce round trip must not spend the client assertion's jti.
    proof = presented_proof(
        svc.dpop, TOKEN_PATH, require_nonce=svc.settings.oauth.dpop_nonce_required
    )
    client = svc.client_auth.authenticate(form)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequestError("grant_type is required.")
    grant = GRANTS.get(grant_type)
    # FAPI 2.0 SP 5.3.2.1-2: the password grant (and anything unknown) is refused.
    if grant is None:
        raise UnsupportedGrantTypeError()
    if grant_type not in client.grant_types:
        raise UnauthorizedClientError()
    # Before the grant runs: a missing proof spends no code.
    _require_proof_if_bound(client, proof)
    body = grant(svc, client, form, proof)
    svc.audit.record(
        "token.issued",
        actor=f"client:{client.client_id}",
        resource=f"client:{client.client_id}",
        changes={
            "grant_type": grant_type,
            "scope": body.get("scope", ""),
            "token_type": body.get("token_type", ""),
        },
        request_id=request_id(),
    )
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
