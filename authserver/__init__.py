"""authserver: a FAPI 2.0 authorization server for open banking.

``create_app`` wires the floors together in order and does nothing else.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import ProgrammingError

from authserver.audit.chainer import setup_audit_chainer
from authserver.clock import Clock
from authserver.clock import SystemClock
from authserver.context import EXTENSION_KEY
from authserver.context import Services
from authserver.crypto.master_key import derive_key
from authserver.crypto.master_key import load_master_key
from authserver.db import db as sql  # not "db": that name is the submodule
from authserver.db import setup_database
from authserver.errors import register_browser_prefix
from authserver.errors import register_error_handlers
from authserver.experience import EXTENSION_KEY as EXPERIENCE_KEY
from authserver.package_data import package_path
from authserver.ratelimit.limiter import setup_rate_limit_headers
from authserver.services import build_services
from authserver.settings import Settings
from authserver.settings import load_settings
from authserver.store.memory import MemoryStore
from authserver.store.single_process import claim
from authserver.store.single_process import under_gunicorn
from authserver.web.body_limit import setup_body_limit
from authserver.web.body_rules import setup_body_rules
from authserver.web.branding import setup_branding
from authserver.web.flask_app import LeanFlask
from authserver.web.headers import setup_security_headers
from authserver.web.health import setup_health
from authserver.web.logging import setup_logging
from authserver.web.metrics import setup_metrics
from authserver.web.request_id import setup_request_id
from authserver.wiring import register_resource_blueprints
from authserver.wiring import register_resources

log = structlog.get_logger(__name__)


def setup_services(app: Flask, settings: Settings, clock: Clock) -> Services:
    master_key = load_master_key(settings)
    app.config["SECRET_KEY"] = derive_key(master_key, "flask-session").hex()
    built = build_services(settings, clock, master_key)
    app.extensions[EXTENSION_KEY] = built.services
    app.extensions[EXPERIENCE_KEY] = built.experience
    register_resources(app, built.resources)
    return built.services


def setup_single_process(settings: Settings, found: Services) -> None:
    """Under gunicorn, the in-process store refuses a second worker (store/single_process)."""
    if isinstance(found.store, MemoryStore) and under_gunicorn():
        claim(settings.instance_path)


def setup_signing_keys(app: Flask, found: Services) -> None:
    """Start-up is where keys are created (and the CLI); request paths only read them.

    A database not migrated yet (``authserver db upgrade`` builds the app first) is not
    an error here: the CLI creates the keys once the schema exists.
    """
    with app.app_context():
        try:
            found.keys.ensure_keys()
            found.webhook_keys.ensure_keys()
        except (OperationalError, ProgrammingError) as exc:
            sql.session.rollback()
            log.warning("signing_keys_not_ensured", error_detail=type(exc).__name__)


def setup_blueprints(app: Flask, found: Services) -> None:
    from authserver.authorization.views import bp as authorization_bp
    from authserver.consent.dashboard import bp as dashboard_bp
    from authserver.consent.views import bp as consent_bp
    from authserver.discovery.jwks import bp as keys_bp
    from authserver.discovery.views import bp as discovery_bp
    from authserver.introspection.endpoint import bp as introspection_bp
    from authserver.par.endpoint import bp as par_bp
    from authserver.pisp.views import bp as pisp_bp
    from authserver.sca.home import bp as home_bp
    from authserver.sca.passkey_views import bp as passkey_bp
    from authserver.sca.security import bp as security_bp
    from authserver.sca.views import bp as sca_bp
    from authserver.tokens.endpoint import bp as tokens_bp
    from authserver.tokens.revocation_endpoint import bp as revocation_bp

    setup_health(app, found.store)
    blueprints = (
        discovery_bp,
        keys_bp,
        par_bp,
        authorization_bp,
        sca_bp,
        passkey_bp,
        home_bp,
        security_bp,
        consent_bp,
        tokens_bp,
        revocation_bp,
        introspection_bp,
        dashboard_bp,
        # Payments sign their answers with our private key: this app only, never authserver.rs.
        pisp_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_resource_blueprints(app)
    for prefix in ("/", "/authorize", "/login", "/logout", "/consent", "/account"):
        register_browser_prefix(app, prefix)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    settings = settings or load_settings()
    setup_logging(settings.log_level)
    app = LeanFlask(
        __name__,
        template_folder=package_path("templates"),
        static_folder=package_path("static"),
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.issuer.startswith("https://")
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    found = setup_services(app, settings, clock or SystemClock())
    setup_single_process(settings, found)
    setup_database(app, settings.sqlalchemy_url)
    setup_signing_keys(app, found)
    setup_request_id(app)
    setup_metrics(app, settings.metrics)
    setup_rate_limit_headers(app)
    setup_body_limit(app, settings.max_body_bytes)
    setup_body_rules(app)
    setup_security_headers(app, found.dpop.nonces)
    setup_branding(app, settings.branding)
    register_error_handlers(app)
    setup_blueprints(app, found)
    setup_audit_chainer(app, found.audit, settings.audit.chain_seconds)
    return app
