"""POST /revoke (RFC 7009): the client ends one of its own tokens.

Client authentication is the token endpoint's (private_key_jwt, issuer ``aud``).
Unknown, foreign, expired and already-revoked tokens all get the same 200 with an
empty body (§2.2), so the endpoint tells a caller nothing about other clients'
tokens. ``token_type_hint`` only orders the lookups; an unknown hint is ignored.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response

from authserver.checks.token_request import read_token_request
from authserver.clients.models import Client
from authserver.context import Services
from authserver.context import services
from authserver.errors import request_id
from authserver.tokens.revocation import REFRESH_TOKEN_HINT

bp = Blueprint("revocation", __name__)

REVOCATION_PATH = "/revoke"


def _revoke_access_token(svc: Services, token: str, caller: Client) -> bool:
    claims = svc.verifier.read(token)
    if claims is None:
        return False
    svc.revocations.revoke_access_token(claims, caller, request_id=request_id())
    return True


def _revoke_refresh_token(svc: Services, token: str, caller: Client) -> bool:
    row = svc.refresh.find(token)
    if row is None:
        return False
    svc.revocations.revoke_refresh_token(row, caller, request_id=request_id())
    return True


@bp.post(REVOCATION_PATH)
def revoke() -> Response:
    svc = services()
    asked = read_token_request(svc.client_auth)
    lookups = [_revoke_access_token, _revoke_refresh_token]
    if asked.token_type_hint == REFRESH_TOKEN_HINT:
        lookups.reverse()
    for lookup in lookups:
        if lookup(svc, asked.token, asked.caller):
            break
    response = Response(status=200)
    response.headers["Cache-Control"] = "no-store"
    return response
