"""GET /authorize?client_id=…&request_uri=…, and nothing else.

Errors here are shown on a page: the redirect_uri is not trusted until the pushed
request is found, and a front channel without PAR never redirects anywhere.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import request
from flask.typing import ResponseReturnValue

from authserver.context import services
from authserver.errors import InvalidRequestError
from authserver.sca import session as user_session

bp = Blueprint("authorization", __name__)
ALLOWED = {"client_id", "request_uri"}


@bp.get("/authorize")
def authorize() -> ResponseReturnValue:
    svc = services()
    args = request.args
    if "request_uri" not in args:
        raise InvalidRequestError("Authorization requests must be pushed to /par first.")
    if set(args) - ALLOWED or any(len(args.getlist(name)) > 1 for name in args):
        raise InvalidRequestError("Only client_id and request_uri are accepted here.")
    client = svc.clients.get(args.get("client_id", ""))
    if client is None or client.disabled:
        raise InvalidRequestError("Unknown client.")
    # Validates existence, expiry and client binding without spending the request_uri.
    svc.par.get(args["request_uri"], client.client_id)
    user_session.set_pending(client.client_id, args["request_uri"])
    target = "/consent" if user_session.current_user_id() else "/login"
    return redirect(target, code=303)
