"""POST /introspect (RFC 7662), answered as JSON or as a signed JWT (RFC 9701).

The caller authenticates like at the token endpoint (private_key_jwt). A JWT answer
is given when the caller asks with ``Accept: application/token-introspection+jwt`` or
registered ``introspection_signed_response_alg``: ``typ`` token-introspection+jwt,
``iss`` us, ``aud`` the caller, ``iat``, and the RFC 7662 object under
``token_introspection``; no top-level ``sub`` or ``exp``, so it can never pass for
an access token (RFC 9701 §5).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from authserver.checks.token_request import read_token_request
from authserver.clients.models import Client
from authserver.context import Services
from authserver.context import services
from authserver.introspection.response import introspect

bp = Blueprint("introspection", __name__)

INTROSPECTION_PATH = "/introspect"
JWT_MEDIA_TYPE = "application/token-introspection+jwt"
JWT_TYPE = "token-introspection+jwt"


def _wants_jwt(caller: Client) -> bool:
    if caller.introspection_signed_response_alg:
        return True
    # Only an explicit ask: ``*/*`` (most HTTP libraries' default) keeps plain JSON.
    return any(
        value.lower() == JWT_MEDIA_TYPE and quality > 0
        for value, quality in request.accept_mimetypes
    )


def _signed(svc: Services, caller: Client, body: dict[str, Any]) -> Response:
    claims = {
        "iss": svc.settings.issuer,
        "aud": caller.client_id,
        "iat": int(svc.clock.time()),
        "token_introspection": body,
    }
    alg = caller.introspection_signed_response_alg or svc.policy.introspection_default_alg
    return Response(svc.keys.sign(claims, alg, typ=JWT_TYPE), mimetype=JWT_MEDIA_TYPE)


@bp.post(INTROSPECTION_PATH)
def introspection() -> Response:
    svc = services()
    asked = read_token_request(svc.client_auth)
    body = introspect(svc, asked.token, asked.caller)
    caller = asked.caller
    response = _signed(svc, caller, body) if _wants_jwt(caller) else jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
