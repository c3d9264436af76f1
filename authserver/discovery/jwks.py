"""JWKS endpoint: the public half of every published signing key, for TPPs and resource servers."""

from __future__ import annotations

from flask import Blueprint
from flask import Response

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
