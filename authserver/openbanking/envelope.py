"""Responses under ``/open-banking/v4.0``: the ``Data``/``Links``/``Meta`` envelope, the
``x-fapi-interaction-id`` echo and ``Cache-Control: no-store`` on every answer.

FAPI 1.0 Baseline §6.2.1-11/12 (kept by UK OB v4.0): the resource echoes the client's
``x-fapi-interaction-id`` or makes one (an RFC 4122 UUID). A value that is not a UUID
is refused with ``U006`` rather than copied into logs and headers.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import request

from authserver.errors import oauth_error_response
from authserver.openbanking.errors import HEADER_INVALID
from authserver.openbanking.errors import INVALID_FORMAT
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import OBErrorResponse
from authserver.web.body_rules import JsonTooDeepError

OB_PREFIX = "/open-banking/v4.0"
AISP_PREFIX = OB_PREFIX + "/aisp"
PISP_PREFIX = OB_PREFIX + "/pisp"
INTERACTION_HEADER = "x-fapi-interaction-id"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
log = structlog.get_logger(__name__)


def is_open_banking_path(path: str) -> bool:
    return path == OB_PREFIX or path.startswith(OB_PREFIX + "/")


def interaction_id() -> str:
    """This request's interaction id: set before the view runs on every OB path, and made
    here for a request refused before that (a 413, a too-deep body), so that every OB
    answer echoes the caller's well-formed id or carries a fresh one."""
    if "fapi_interaction_id" not in g:
        supplied = (request.headers.get(INTERACTION_HEADER) or "").strip()
        g.fapi_interaction_id = supplied if _UUID.fullmatch(supplied) else str(uuid.uuid4())
    return str(g.fapi_interaction_id)


def _begin() -> None:
    if not is_open_banking_path(request.path):
        return
    supplied = request.headers.get(INTERACTION_HEADER)
    g.fapi_interaction_id = str(uuid.uuid4())
    structlog.contextvars.bind_contextvars(fapi_interaction_id=g.fapi_interaction_id)
    if supplied is None:
        return
    if not _UUID.fullmatch(supplied.strip()):
        raise OBErrorResponse(
            400,
            [OBError(HEADER_INVALID, "x-fapi-interaction-id must be a UUID.", INTERACTION_HEADER)],
        )
    g.fapi_interaction_id = supplied.strip()
    structlog.contextvars.bind_contextvars(fapi_interaction_id=g.fapi_interaction_id)


def _finish(response: Response) -> Response:
    if is_open_banking_path(request.path):
        response.headers[INTERACTION_HEADER] = interaction_id()
        response.headers["Cache-Control"] = "no-store"
    return response


def error_response(exc: OBErrorResponse) -> Response:
    """The ``OBErrorResponse1`` answer for ``exc`` (also for a view that keeps it, e.g. to
    sign and store it for idempotent replay)."""
    log.info("open_banking_error", status=exc.status, codes=[e.code for e in exc.errors])
    response = jsonify(exc.to_json())
    response.status_code = exc.status
    return response


def _too_deep(exc: JsonTooDeepError) -> Response:
    """An ``OBErrorResponse1`` (U010) on OB paths; the OAuth error everywhere else."""
    if not is_open_banking_path(request.path):
        return oauth_error_response(exc)
    message = "The body nests JSON deeper than the API allows."
    return error_response(OBErrorResponse(400, [OBError(INVALID_FORMAT, message)]))


def setup_open_banking(app: Flask) -> None:
    """Interaction ids, no-store and OB error bodies; both app factories call this once."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.register_error_handler(OBErrorResponse, error_response)
    app.register_error_handler(JsonTooDeepError, _too_deep)


def self_url(path: str | None = None) -> str:
    """``Links.Self``: the absolute URL of this resource, without the query string
    unless the caller passes a path that carries one."""
    return request.host_url.rstrip("/") + (path if path is not None else request.path)


def ob_response(
    data: dict[str, Any],
    *,
    links: dict[str, str] | None = None,
    meta: dict[str, Any] | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    """``{"Data": ..., "Links": {"Self": ...}, "Meta": {...}}`` (plus ``extra`` top-level
    members such as ``Risk``). ``Links.Self`` defaults to this request's URL."""
    body: dict[str, Any] = {"Data": data}
    if extra:
        body.update(extra)
    body["Links"] = {"Self": self_url(), **(links or {})}
    body["Meta"] = meta if meta is not None else {}
    response = jsonify(body)
    response.status_code = status
    return response
