"""Builders shared by the two app factories (``create_app`` and ``authserver.rs``).

Nothing here creates, opens or holds a signing key or the master key: a resource
server process builds its DPoP validator, revocation view and revocation service
from these alone (an import-linter contract keeps it so).
"""

from __future__ import annotations

from flask import Flask

from authserver.clock import Clock
from authserver.dpop.nonce import NonceService
from authserver.dpop.proof import DPoPValidator
from authserver.fapi import FapiPolicy
from authserver.openbanking.envelope import setup_open_banking
from authserver.openbanking.openapi import bp as openapi_bp
from authserver.resources.account_access_consents import bp as account_access_consents_bp
from authserver.resources.accounts.views import bp as accounts_bp
from authserver.resources.admin_revocations import bp as admin_revocations_bp
from authserver.resources.consents import bp as consents_bp
from authserver.resources.context import EXTENSION_KEY as RESOURCES_KEY
from authserver.resources.context import ResourceServices
from authserver.resources.userinfo import bp as userinfo_bp
from authserver.resources.webhooks.views import bp as webhooks_bp
from authserver.revocation.publisher import RevocationPublisher
from authserver.revocation.view import SQL_POLL_SECONDS
from authserver.revocation.view import RevocationView
from authserver.settings import Settings
from authserver.store.base import Store
from authserver.store.memory import MemoryStore
from authserver.store.replay import ReplayEpoch


def build_replay_epoch(settings: Settings, store: Store, clock: Clock) -> ReplayEpoch:
    """One per app: the assertion and proof caches must agree on when the store lost data."""
    epoch = ReplayEpoch(store, clock, margin=FapiPolicy.from_settings(settings.oauth).clock_skew)
    epoch.start()
    return epoch


def build_dpop_validator(
    settings: Settings,
    public_url: str,
    clock: Clock,
    nonce_key: bytes,
    replay_epoch: ReplayEpoch,
) -> DPoPValidator:
    """The one proof validator; ``public_url`` is the base of the ``htu`` it expects."""
    policy = FapiPolicy.from_settings(settings.oauth)
    return DPoPValidator(
        public_base_url=public_url,
        clock=clock,
        nonces=NonceService(nonce_key, clock, settings.oauth.dpop_nonce_step),
        algs=policy.signing_algs,
        skew=policy.clock_skew,
        past_window=settings.oauth.dpop_past_window,
        replay_epoch=replay_epoch,
    )


def build_revocation_view(
    store: Store,
    clock: Clock,
    publisher: RevocationPublisher,
    sql_poll_seconds: float = SQL_POLL_SECONDS,
) -> RevocationView:
    # Only the in-process store needs SQL polling: Redis carries every publisher's messages,
    # while separate processes on the in-process store share nothing but the database.
    return RevocationView(
        store,
        clock,
        publisher,
        poll_sql=isinstance(store, MemoryStore),
        sql_poll_seconds=sql_poll_seconds,
    )


def register_resources(app: Flask, resources: ResourceServices) -> None:
    """Make the resource services findable and keep the revocation view able to rebuild
    the store from SQL (its listener thread has no app context of its own)."""
    app.extensions[RESOURCES_KEY] = resources

    def rebuild_revocations() -> None:
        with app.app_context():
            resources.revocations.rebuild_store()

    resources.revocation_view.bind_rebuild(rebuild_revocations)


def register_resource_blueprints(app: Flask) -> None:
    """The resource-server endpoints, served by both app factories at the same URLs."""
    setup_open_banking(app)
    for blueprint in (
        userinfo_bp,
        admin_revocations_bp,
        consents_bp,
        account_access_consents_bp,
        openapi_bp,
        webhooks_bp,
    ):
        app.register_blueprint(blueprint)
    # Account data only where the account-data key is: a resource server without
    # AUTHSERVER_ACCOUNT_DATA_SECRET has no provider and answers these paths with 404.
    resources: ResourceServices = app.extensions[RESOURCES_KEY]
    if resources.accounts is not None:
        app.register_blueprint(accounts_bp)
