"""``authserver.rs``: the resource servers in their own process (``gunicorn authserver.rs:app``).

It serves only the resource endpoints (userinfo, the TPP's consent withdrawal, the
admin revocation API) and the health probes, at the same URLs as the authorization
server. It needs the issuer URL, the store and read access to its tables; it verifies
access tokens from the issuer's published JWKS (``<issuer>/jwks`` over HTTP, cached)
and holds no master key and no private key: nothing reachable from here can create or
open a signing key (import-linter contract "resource-server-process"). DPoP nonces,
when required, use ``AUTHSERVER_DPOP_NONCE_SECRET``, shared with the authorization
server. There are no sessions, so no session secret either. Account data is served
only with ``AUTHSERVER_ACCOUNT_DATA_SECRET`` (the key sealing account identifiers at
rest, never the master key); without it the accounts endpoints are not registered.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from authserver.accounts.provider import AccountProvider
from authserver.accounts.sql import SqlAccountProvider
from authserver.audit.service import AuditTrail
from authserver.clients.cache import ClientChanges
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.clock import SystemClock
from authserver.consent.service import ConsentService
from authserver.crypto.envelope import Envelope
from authserver.crypto.subkeys import account_data_key
from authserver.crypto.subkeys import dpop_nonce_key
from authserver.db import setup_database
from authserver.errors import register_error_handlers
from authserver.events.outbox import EventOutbox
from authserver.events.ssrf import guard_from_settings
from authserver.events.subscriptions import WebhookSubscriptions
from authserver.fapi import FapiPolicy
from authserver.ratelimit.limiter import build_rate_limiter
from authserver.ratelimit.limiter import setup_rate_limit_headers
from authserver.ratelimit.tiers import ClientTiers
from authserver.resources.context import ResourceServices
from authserver.revocation.publisher import RevocationPublisher
from authserver.sca.directory import SqlUserDirectory
from authserver.settings import ResourceServerSettings
from authserver.settings import load_resource_server_settings
from authserver.store import build_store
from authserver.store.base import Store
from authserver.tokens.issuer_jwks import IssuerJwks
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.revocation import RevocationService
from authserver.tokens.verifier import AccessTokenVerifier
from authserver.web.body_limit import setup_body_limit
from authserver.web.body_rules import setup_body_rules
from authserver.web.flask_app import LeanFlask
from authserver.web.headers import setup_security_headers
from authserver.web.health import setup_health
from authserver.web.logging import setup_logging
from authserver.web.metrics import setup_metrics
from authserver.web.request_id import setup_request_id
from authserver.wiring import build_dpop_validator
from authserver.wiring import build_replay_epoch
from authserver.wiring import build_revocation_view
from authserver.wiring import register_resource_blueprints
from authserver.wiring import register_resources

# On the in-process store a separate resource server learns revocations only from SQL
# (it shares the database with the AS, not the store): poll often enough that a
# revoked token is refused within a second. With Redis, pub/sub carries them instead.
RS_SQL_POLL_SECONDS = 0.25


def _nonce_key(settings: ResourceServerSettings) -> bytes:
    if settings.dpop_nonce_secret is not None:
        return dpop_nonce_key(settings, None)
    # Nonces are off (settings validation requires the secret when they are on): this
    # key signs nothing anyone is asked to return.
    return os.urandom(32)


def _accounts(settings: ResourceServerSettings) -> AccountProvider | None:
    # Only with AUTHSERVER_ACCOUNT_DATA_SECRET: this process never holds the master key,
    # so without the account-data key it cannot open account identifiers and does not
    # serve the accounts endpoints at all.
    key = account_data_key(settings, None)
    return None if key is None else SqlAccountProvider(Envelope(key))


def build_resource_services(
    settings: ResourceServerSettings, clock: Clock, store: Store
) -> ResourceServices:
    audit = AuditTrail(clock)
    publisher = RevocationPublisher(store, clock)
    revocation_view = build_revocation_view(store, clock, publisher, RS_SQL_POLL_SECONDS)
    verifier = AccessTokenVerifier(
        issuer=settings.issuer,
        audience=settings.tokens.audience or settings.issuer,
        keys=IssuerJwks(
            settings.jwks_uri,
            clock,
            ttl=settings.issuer_jwks_ttl,
            min_refetch_seconds=settings.issuer_jwks_min_refetch,
            timeout=settings.oauth.jwks_fetch_timeout,
        ),
        clock=clock,
        revocations=revocation_view,
    )
    # No webhook key here: events are written unsigned and the worker signs them.
    outbox = EventOutbox(clock)
    consents = ConsentService(clock, audit, outbox=outbox)
    # A client disabled here is announced to the AS processes' client caches.
    clients = ClientService(clock, audit, ClientChanges(store))
    revocations = RevocationService(
        clock=clock,
        audit=audit,
        clients=clients,
        consents=consents,
        users=SqlUserDirectory(),
        ledger=AccessTokenLedger(store, clock, publisher),
        publisher=publisher,
    )
    return ResourceServices(
        policy=FapiPolicy.from_settings(settings.oauth),
        clock=clock,
        store=store,
        dpop=build_dpop_validator(
            settings,
            settings.public_url,
            clock,
            _nonce_key(settings),
            build_replay_epoch(settings, store, clock),
        ),
        verifier=verifier,
        consents=consents,
        revocations=revocations,
        revocation_view=revocation_view,
        audit=audit,
        accounts=_accounts(settings),
        outbox=outbox,
        webhooks=WebhookSubscriptions(clock, guard_from_settings(settings)),
        rate_limits=build_rate_limiter(settings),
        client_tiers=ClientTiers(clients.get),
    )


def create_resource_app(
    settings: ResourceServerSettings | None = None, *, clock: Clock | None = None
) -> Flask:
    settings = settings or load_resource_server_settings()
    setup_logging(settings.log_level)
    app = LeanFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    store = build_store(settings, clock)
    resources = build_resource_services(settings, clock, store)
    register_resources(app, resources)
    setup_database(app, settings.sqlalchemy_url)
    setup_request_id(app)
    setup_metrics(app, settings.metrics)
    setup_rate_limit_headers(app)
    setup_body_limit(app, settings.max_body_bytes)
    setup_body_rules(app)
    setup_security_headers(app, resources.dpop.nonces)
    register_error_handlers(app)
    setup_health(app, store)
    register_resource_blueprints(app)
    return app


_app: Flask | None = None


def __getattr__(name: str) -> Flask:
    # PEP 562: ``authserver.rs:app`` is built on first access (gunicorn's), so importing
    # this module (tests, import-linter) reads no environment and opens nothing.
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_resource_app()
    return _app
