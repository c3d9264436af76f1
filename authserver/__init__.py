"""authserver: a FAPI 2.0 authorization server for open banking.

``create_app`` wires the floors together in order and does nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from authserver.clock import Clock
from authserver.clock import SystemClock
from authserver.context import EXTENSION_KEY
from authserver.context import Services
from authserver.crypto.master_key import derive_key
from authserver.crypto.master_key import load_master_key
from authserver.db import setup_database
from authserver.errors import register_browser_prefix
from authserver.errors import register_error_handlers
from authserver.package_data import package_path
from authserver.services import build_services
from authserver.settings import Settings
from authserver.settings import load_settings
from authserver.web.body_limit import setup_body_limit
from authserver.web.headers import setup_security_headers
from authserver.web.logging import setup_logging
from authserver.web.request_id import setup_request_id


def setup_services(app: Flask, settings: Settings, clock: Clock) -> Services:
    master_key = load_master_key(settings)
    app.config["SECRET_KEY"] = derive_key(master_key, "flask-session").hex()
    app.extensions[EXTENSION_KEY] = found = build_services(settings, clock, master_key)

    def rebuild_revocations() -> None:
        # The listener thread has no app context of its own.
        with app.app_context():
            found.revocations.rebuild_store()

    found.revocation_view.bind_rebuild(rebuild_revocations)
    return found


def setup_blueprints(app: Flask) -> None:
    from authserver.authorization.views import bp as authorization_bp
    from authserver.consent.api import bp as consent_api_bp
    from authserver.consent.dashboard import bp as dashboard_bp
    from authserver.consent.views import bp as consent_bp
    from authserver.discovery.views import bp as discovery_bp
    from authserver.introspection.endpoint import bp as introspection_bp
    from authserver.keys.views import bp as keys_bp
    from authserver.par.endpoint import bp as par_bp
    from authserver.revocation.admin import bp as revocation_admin_bp
    from authserver.revocation.endpoint import bp as revocation_bp
    from authserver.sca.home import bp as home_bp
    from authserver.sca.views import bp as sca_bp
    from authserver.tokens.endpoint import bp as tokens_bp
    from authserver.tokens.userinfo import bp as userinfo_bp
    from authserver.web.health import bp as health_bp

    blueprints = (
        health_bp,
        discovery_bp,
        keys_bp,
        par_bp,
        authorization_bp,
        sca_bp,
        home_bp,
        consent_bp,
        tokens_bp,
        userinfo_bp,
        revocation_bp,
        introspection_bp,
        revocation_admin_bp,
        consent_api_bp,
        dashboard_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    for prefix in ("/", "/authorize", "/login", "/logout", "/consent", "/account"):
        register_browser_prefix(app, prefix)


class AuthServerFlask(Flask):
    """Flask whose unhandled errors are logged once, as JSON, by our 500 handler."""

    def log_exception(self, exc_info: Any) -> None:
        return None


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    settings = settings or load_settings()
    setup_logging(settings.log_level)
    app = AuthServerFlask(
        __name__,
        template_folder=package_path("templates"),
        static_folder=package_path("static"),
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.issuer.startswith("https://")
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    setup_services(app, settings, clock or SystemClock())
    setup_database(app, settings.sqlalchemy_url)
    setup_request_id(app)
    setup_body_limit(app, settings.max_body_bytes)
    setup_security_headers(app)
    register_error_handlers(app)
    setup_blueprints(app)
    return app
