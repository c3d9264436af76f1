"""GET /authorize?client_id=…&request_uri=…: the pushed request is the whole request.

Errors here are shown on a page: the redirect_uri is not trusted until the pushed
request is found, and a front channel without PAR never redirects anywhere.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from authserver.checks.authorization_request import AuthorizationRequest
from authserver.checks.identifiers import is_identifier
from authserver.clients.models import is_usable
from authserver.context import services
from authserver.errors import InvalidRequestError
from authserver.sca import session as user_session

bp = Blueprint("authorization", __name__)


def _check_repeated(args: MultiDict[str, str], pushed: AuthorizationRequest) -> None:
    """Query parameters next to client_id and request_uri never change the request.

    RFC 9101 §5 / RFC 9126 §4: only the pushed request's parameters are used, so any
    other query parameter (state, nonce...) is ignored. OIDC Core §6.1 has clients
    repeat response_type, scope and redirect_uri outside, and the OIDF suite always
    does: accepted when they equal the pushed values, an error page when they differ.
    """
    expected = {
        "response_type": {"code"},
        "scope": set(pushed.scopes),
        "redirect_uri": {pushed.redirect_uri},
    }
    for name, values in expected.items():
        if name not in args:
            continue
        given = set(args[name].split()) if name == "scope" else {args[name]}
        if given != values:
            raise InvalidRequestError(f"{name} does not match the pushed request.")


@bp.get("/authorize")
def authorize() -> ResponseReturnValue:
    svc = services()
    args = request.args
    if "request_uri" not in args:
        raise InvalidRequestError("Authorization requests must be pushed to /par first.")
    if any(len(args.getlist(name)) > 1 for name in args):
        raise InvalidRequestError("A parameter is repeated.")
    client_id = args.get("client_id", "")
    client = svc.clients.get(client_id) if is_identifier(client_id) else None
    if not is_usable(client):
        raise InvalidRequestError("Unknown client.")
    # Validates existence, expiry and client binding without spending the request_uri.
    pushed = svc.par.accept(args["request_uri"], client.client_id, svc.policy.login_window)
    _check_repeated(args, pushed)
    user_session.set_pending(client.client_id, args["request_uri"])
    target = "/consent" if user_session.current_user_id() else "/login"
    return redirect(target, code=303)
