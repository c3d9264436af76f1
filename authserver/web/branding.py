"""The bank's name and logo on the pages people see (issue 13, "pages people trust").

``base.html`` reads ``branding.name`` and ``branding.logo_url`` from every template's
context. The logo is always served by us (``GET /branding/logo``): the bank's own file
(``AUTHSERVER_BRANDING__LOGO_PATH``) or the packaged default, so the pages make no request
to another origin and the CSP stays ``default-src 'self'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import url_for
from flask.typing import ResponseReturnValue

from authserver.package_data import package_path
from authserver.settings import BrandingSettings

EXTENSION_KEY = "authserver.branding"
DEFAULT_LOGO = "logo.svg"

bp = Blueprint("branding", __name__)


MIMETYPES = {".svg": "image/svg+xml", ".png": "image/png"}


@dataclass(frozen=True)
class Branding:
    name: str
    logo: bytes
    """Read once at start-up: a logo is small, and a missing file fails the start."""
    mimetype: str


@bp.get("/branding/logo")
def logo() -> ResponseReturnValue:
    branding: Branding = current_app.extensions[EXTENSION_KEY]
    response = Response(branding.logo, mimetype=branding.mimetype)
    # Public and cacheable: the logo is the same for everyone (the default is no-store).
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def setup_branding(app: Flask, settings: BrandingSettings) -> None:
    logo_file = settings.logo_path or Path(package_path("static")) / DEFAULT_LOGO
    app.extensions[EXTENSION_KEY] = Branding(
        settings.name, logo_file.read_bytes(), MIMETYPES[logo_file.suffix.lower()]
    )
    app.register_blueprint(bp)

    @app.context_processor
    def _branding() -> dict[str, object]:
        return {"branding": {"name": settings.name, "logo_url": url_for("branding.logo")}}
