"""Builds every service of one app instance from its settings; the one place that knows them all."""

from __future__ import annotations

from authserver.audit.service import AuditTrail
from authserver.client_auth.jwks import ClientKeyResolver
from authserver.client_auth.service import ClientAuthenticator
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.consent.service import ConsentService
from authserver.context import Services
from authserver.crypto.envelope import Envelope
from authserver.crypto.master_key import derive_key
from authserver.dpop.nonce import NonceService
from authserver.dpop.proof import DPoPValidator
from authserver.fapi import FapiPolicy
from authserver.keys.service import KeyService
from authserver.par.store import ParStore
from authserver.revocation.publisher import RevocationPublisher
from authserver.revocation.service import RevocationService
from authserver.revocation.view import RevocationView
from authserver.sca.service import UserService
from authserver.settings import Settings
from authserver.store import build_store
from authserver.store.memory import MemoryStore
from authserver.store.replay import ReplayEpoch
from authserver.tokens.codes import CodeStore
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.refresh import RefreshTokenService


def build_services(settings: Settings, clock: Clock, master_key: bytes) -> Services:
    envelope = Envelope(master_key)
    store = build_store(settings, clock)
    audit = AuditTrail(clock)
    clients = ClientService(clock, audit)
    policy = FapiPolicy.from_settings(settings.oauth)
    # One per app: the assertion and proof caches must agree on when the store lost data.
    replay_epoch = ReplayEpoch(store, clock, margin=policy.clock_skew)
    replay_epoch.start()
    publisher = RevocationPublisher(store, clock)
    ledger = AccessTokenLedger(store, clock, publisher)
    refresh = RefreshTokenService(
        settings.tokens, settings.oauth.refresh_grace, store, envelope, clock, ledger, audit
    )
    client_keys = ClientKeyResolver(
        settings.oauth.jwks_fetch_timeout, settings.oauth.jwks_cache_seconds, clock
    )
    return Services(
        settings=settings,
        clock=clock,
        store=store,
        envelope=envelope,
        keys=KeyService(settings.keys, envelope, clock),
        audit=audit,
        clients=clients,
        users=UserService(envelope, clock, audit),
        policy=policy,
        client_keys=client_keys,
        client_auth=ClientAuthenticator(
            clients, client_keys, store, policy, settings.issuer, clock, replay_epoch
        ),
        par=ParStore(store, clock),
        codes=CodeStore(store, clock, settings.tokens.code_ttl),
        consents=ConsentService(clock, audit),
        ledger=ledger,
        refresh=refresh,
        revocations=RevocationService(
            clock=clock,
            audit=audit,
            clients=clients,
            ledger=ledger,
            refresh=refresh,
            publisher=publisher,
        ),
        # Only the in-process store needs SQL polling: Redis carries every publisher.
        revocation_view=RevocationView(
            store, clock, publisher, poll_sql=isinstance(store, MemoryStore)
        ),
        dpop=DPoPValidator(
            public_base_url=settings.issuer,
            store=store,
            clock=clock,
            nonces=NonceService(
                derive_key(master_key, "dpop-nonce"), clock, settings.oauth.dpop_nonce_step
            ),
            algs=policy.signing_algs,
            skew=policy.clock_skew,
            past_window=settings.oauth.dpop_past_window,
            replay_epoch=replay_epoch,
        ),
    )
