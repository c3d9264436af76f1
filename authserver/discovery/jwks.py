"""JWKS endpoint: the public half of every published signing key, for TPPs and resource servers."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.context import services

# The blueprint keeps its name "keys" (url_for targets); the view sits with discovery
# because it needs the app's services, which the ground-floor keys/ package may not import.
bp = Blueprint("keys", __name__)


@bp.get("/jwks")
@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    svc = services()
    return Response(
        svc.keys.published.jwks_body(),
        mimetype="application/json",
        headers={"Cache-Control": f"public, max-age={svc.settings.keys.jwks_max_age}"},
    )


@bp.get("/v1/.well-known/jwks.json")
def webhook_jwks() -> Response:
    """The webhook signing keys only (API-6): active plus retired within the overlap, so an
    event signed before a rotation still verifies for ``webhooks.keys.overlap_days``."""
    svc = services()
    response = jsonify(svc.webhook_keys.jwks())
    max_age = svc.settings.webhooks.keys.jwks_max_age
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response
