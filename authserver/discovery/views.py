"""Serve the metadata at both well-known paths."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.context import services
from authserver.discovery.metadata import build_metadata

bp = Blueprint("discovery", __name__)


@bp.get("/.well-known/oauth-authorization-server")
@bp.get("/.well-known/openid-configuration")
def metadata() -> Response:
    svc = services()
    settings = svc.settings
    response = jsonify(build_metadata(settings, svc.policy))
    response.headers["Cache-Control"] = f"public, max-age={settings.keys.jwks_max_age}"
    return response
