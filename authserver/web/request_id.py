"""Request ids: accept a well-formed X-Request-ID or make one, echo it, bind it to every log."""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from flask import Flask
from flask import Response
from flask import g
from flask import request

HEADER = "X-Request-ID"
# A caller-supplied id goes into logs and headers: accept only a safe, bounded shape.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = structlog.get_logger("authserver.access")


def _begin() -> None:
    supplied = request.headers.get(HEADER, "")
    g.request_id = supplied if _VALID.match(supplied) else uuid.uuid4().hex
    g.started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=g.request_id)


def _finish(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id", "-")
    if not logging.getLogger().isEnabledFor(logging.INFO):
        # The access line would be dropped anyway: skip building it (production runs at
        # WARNING, and this hook runs on every request; issue 15).
        return response
    # Path only: query strings can carry codes and tokens.
    log.info(
        "request",
        method=request.method,
        path=request.path,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
    )
    return response


def setup_request_id(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
