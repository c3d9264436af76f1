"""Liveness and readiness: /healthz says the process runs, /readyz that SQL and the store answer."""

from __future__ import annotations

import structlog
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from authserver.db import db
from authserver.store import StoreUnavailableError
from authserver.store.base import Store

bp = Blueprint("health", __name__)
log = structlog.get_logger(__name__)
STORE_KEY = "authserver.store"


def setup_health(app: Flask, store: Store) -> None:
    """Register the probes with the store they ping (the AS and resource-server apps alike)."""
    app.extensions[STORE_KEY] = store
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    checks = {"database": "ok", "store": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readiness_database_failed", error_detail=type(exc).__name__)
        checks["database"] = "unavailable"
        db.session.rollback()
    try:
        store: Store = current_app.extensions[STORE_KEY]
        store.ping()
    except StoreUnavailableError:
        checks["store"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response
