"""Reading OAuth form bodies the one strict way every endpoint shares (RFC 6749 §3.1, §3.2)."""

from __future__ import annotations

from flask import request

from authserver.errors import InvalidRequestError

FORM_TYPE = "application/x-www-form-urlencoded"


def read_form() -> dict[str, str]:
    """The POST body as single-valued parameters; anything else is invalid_request."""
    if request.mimetype != FORM_TYPE:
        raise InvalidRequestError(f"The request body must be {FORM_TYPE}.")
    params: dict[str, str] = {}
    for name, values in request.form.lists():
        # RFC 6749 §3.1: request and response parameters MUST NOT be included more than once.
        # The name is the client's text: it never goes into the description (F1).
        if len(values) != 1:
            raise InvalidRequestError("A parameter is repeated.")
        params[name] = values[0]
    return params
