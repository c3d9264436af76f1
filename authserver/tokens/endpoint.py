"""POST /token: authenticate the client, dispatch to its grant, answer with no-store."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.checks.form import read_form
from authserver.context import services
from authserver.errors import InvalidRequestError
from authserver.errors import request_id
from authserver.tokens.errors import UnauthorizedClientError
from authserver.tokens.errors import UnsupportedGrantTypeError
from authserver.tokens.grants import GRANTS

bp = Blueprint("tokens", __name__)


@bp.post("/token")
def token() -> Response:
    svc = services()
    form = read_form()
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
    body = grant(svc, client, form)
    svc.audit.record(
        "token.issued",
        actor=f"client:{client.client_id}",
        resource=f"client:{client.client_id}",
        changes={"grant_type": grant_type, "scope": body.get("scope", "")},
        request_id=request_id(),
    )
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
