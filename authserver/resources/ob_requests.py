"""What every UK OB v4.0 TPP-facing endpoint asks of a request, in one place: the kind of
access token (client-credentials or authorization-code), the caller's own consent, and a
JSON body."""

from __future__ import annotations

from typing import Any

from flask import g
from flask import request
from werkzeug.exceptions import BadRequest

from authserver.checks.consent_gate import ConsentView
from authserver.checks.identifiers import is_identifier
from authserver.openbanking.errors import HEADER_INVALID
from authserver.openbanking.errors import INVALID_FORMAT
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.errors import bad_request
from authserver.openbanking.errors import forbidden
from authserver.openbanking.errors import not_found
from authserver.resources.context import resource_services

MAX_CONSENT_ID_LENGTH = 128  # ConsentId maxLength in every v4.0 consent response


def client_credentials_client() -> str:
    """The calling TPP; 403 for an authorization-code token (it carries ``consent_id``).

    Our choice of code, as v4.0 names none for it: U006 Header.Invalid on the
    ``Authorization`` header, which holds a token of the wrong kind.
    """
    if "consent_id" in g.token_claims:
        raise forbidden(
            HEADER_INVALID, "A client-credentials access token is required.", "Authorization"
        )
    return str(g.token_claims["client_id"])


def own_consent(consent_id: str, client_id: str, kind: str) -> ConsentView:
    """The consent ``client_id`` holds, of ``kind``; 404 ``U011`` for an unknown, malformed,
    another client's or another kind's consent (the same answer, so nothing leaks)."""
    if not is_identifier(consent_id, max_length=MAX_CONSENT_ID_LENGTH):
        raise not_found("No such consent.")
    view = resource_services().consents.view(consent_id)
    if view is None or view.client_id != client_id or view.kind != kind:
        raise not_found("No such consent.")
    return view


def authorisation_code_consent() -> str:
    """The consent the request's authorization-code token carries; 403 (U006 on
    ``Authorization``, as above) for a client-credentials token."""
    consent_id = g.token_claims.get("consent_id")
    if not isinstance(consent_id, str) or not consent_id:
        raise forbidden(
            HEADER_INVALID, "An authorization-code access token is required.", "Authorization"
        )
    return consent_id


def require_json() -> None:
    """415 ``U010`` unless the body is declared ``application/json``."""
    if request.mimetype != "application/json":
        raise OBErrorResponse(
            415, [OBError(INVALID_FORMAT, "The body must be application/json.", "Content-Type")]
        )


def json_body() -> Any:
    require_json()
    try:
        return request.get_json()
    except (BadRequest, RecursionError):  # nesting deeper than the parser's stack
        raise bad_request(OBError(INVALID_FORMAT, "The body is not valid JSON.")) from None
