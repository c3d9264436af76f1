"""Serve the metadata at both well-known paths."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import current_app

from authserver.context import services
from authserver.discovery.metadata import build_metadata

bp = Blueprint("discovery", __name__)
BODY_KEY = "authserver.metadata_body"


def _body() -> bytes:
    """The document as bytes, built once per app: it depends on settings only (issue 15)."""
    cached: bytes | None = current_app.extensions.get(BODY_KEY)
    if cached is None:
        svc = services()
        document = build_metadata(svc.settings, svc.policy)
        cached = json.dumps(document, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        current_app.extensions[BODY_KEY] = cached
    return cached


@bp.get("/.well-known/oauth-authorization-server")
@bp.get("/.well-known/openid-configuration")
def metadata() -> Response:
    max_age = services().settings.keys.jwks_max_age
    return Response(
        _body(),
        mimetype="application/json",
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )
