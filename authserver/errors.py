"""The one place OAuth errors become responses: JSON on API paths, a page on browser paths.

Every wire error is an Authlib ``OAuth2Error`` subclass pinning ``error`` and
``status_code``; a 5xx never reveals more than ``server_error`` and the request id.
"""

from __future__ import annotations

from typing import Any

import structlog
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.base import invalid_error_characters
from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from sqlalchemy.exc import DataError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from authserver.metrics import BACKEND_ERRORS

log = structlog.get_logger(__name__)

BROWSER_PREFIXES_KEY = "authserver.browser_prefixes"


class AuthServerError(OAuth2Error):  # type: ignore[misc]
    """Base of our wire errors; subclasses pin ``error``, ``status_code``, a fixed description."""

    error = "server_error"
    status_code = 500
    description = ""

    def __init__(self, description: str | None = None, **kwargs: Any) -> None:
        text = description or self.description or None
        if text and invalid_error_characters(text):
            # RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E only, and
            # Authlib raises ValueError otherwise; a 4xx must never become a 500 over it.
            log.warning("error_description_replaced", error=self.error)
            text = self.description or None
        super().__init__(description=text, **kwargs)

    def extra_headers(self) -> dict[str, str]:
        """Headers a subclass adds (``WWW-Authenticate``, ``DPoP-Nonce``, ``Retry-After``)."""
        return {}


class InvalidRequestError(AuthServerError):
    error = "invalid_request"
    status_code = 400
    description = "The request is missing a parameter or is otherwise malformed."


class ServerError(AuthServerError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailableError(AuthServerError):
    error = "temporarily_unavailable"
    status_code = 503
    description = "The service is temporarily unavailable; retry later."

    def extra_headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


_HTTP_ERROR_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def register_browser_prefix(app: Flask, prefix: str) -> None:
    """Mark a path prefix as a page for people, so its errors render HTML."""
    app.extensions.setdefault(BROWSER_PREFIXES_KEY, set()).add(prefix)


def wants_page() -> bool:
    prefixes: set[str] = _current_prefixes()
    if any(request.path == p or request.path.startswith(p + "/") for p in prefixes):
        return True
    # A path we do not serve at all, asked for by a browser (HTML preferred over JSON),
    # gets a page; API clients and curl (*/*) still get JSON.
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.url_rule is None and best == "text/html"


def _current_prefixes() -> set[str]:
    from flask import current_app

    prefixes: set[str] = current_app.extensions.get(BROWSER_PREFIXES_KEY, set())
    return prefixes


def request_id() -> str:
    return str(g.get("request_id", "-"))


def error_response(error: str, description: str | None, status: int) -> Response:
    """Render one error the way the path's audience expects."""
    body: dict[str, str] = {"error": error}
    if status >= 500:
        # A 5xx says nothing about the failure beyond its request id.
        body = {"error": "server_error" if status == 500 else error, "request_id": request_id()}
    elif description:
        body["error_description"] = description
    if wants_page():
        html = render_template(
            "errors/page.html",
            error=body["error"],
            description=description if status < 500 else None,
            request_id=request_id(),
            status=status,
        )
        response = Response(html, status=status, mimetype="text/html")
    else:
        response = jsonify(body)
        response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def oauth_error_response(exc: OAuth2Error) -> Response:
    """The one rendering of an OAuth error (JSON, or a page under a browser prefix)."""
    status = int(exc.status_code)
    if status >= 500:
        log.error("request_failed", error=exc.error, error_detail=exc.description)
    response = error_response(str(exc.error), exc.description, status)
    if isinstance(exc, AuthServerError):
        response.headers.update(exc.extra_headers())
    return response


def _handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _handle_internal_error(exc)
    error = _HTTP_ERROR_CODES.get(status, "invalid_request")
    response = error_response(error, exc.description, status)
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def _handle_internal_error(exc: HTTPException) -> Response:
    original = getattr(exc, "original_exception", None) or exc
    log.error("unhandled_error", exc_info=original)
    return error_response("server_error", None, 500)


def _handle_database_error(exc: DBAPIError) -> Response:
    """A database outage is 503 (retry later) on every endpoint; input the database refuses
    is 400; anything else stays a 500. Logged by type and SQLSTATE only: the statement's
    parameters may hold secrets."""
    original = exc.orig
    detail = {
        "error_type": type(original).__name__,
        "sqlstate": getattr(original, "sqlstate", None),
        "connection_invalidated": exc.connection_invalidated,
    }
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        log.error("database_unavailable", **detail)
        BACKEND_ERRORS.labels("database").inc()
        return oauth_error_response(TemporarilyUnavailableError())
    if isinstance(exc, DataError):
        # Boundaries refuse bad identifiers before querying; reaching here is a missed
        # check (logged as an error), yet still the client's input, so not a 500.
        log.error("database_refused_input", **detail)
        return oauth_error_response(
            InvalidRequestError("The request holds a value that cannot be stored.")
        )
    log.error("unhandled_database_error", **detail)
    return error_response("server_error", None, 500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(OAuth2Error, oauth_error_response)
    app.register_error_handler(DBAPIError, _handle_database_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(InternalServerError, _handle_internal_error)
