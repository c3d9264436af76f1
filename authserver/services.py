"""Builds every service of one authorization-server app from its settings; the one place
that knows them all (with ``__init__.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.accounts.sql import SqlAccountProvider
from authserver.audit.service import AuditTrail
from authserver.client_auth.jwks import ClientKeyResolver
from authserver.client_auth.service import ClientAuthenticator
from authserver.clients.cache import ClientCache
from authserver.clients.cache import ClientChanges
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.consent.service import ConsentService
from authserver.context import Services
from authserver.crypto.envelope import Envelope
from authserver.crypto.subkeys import account_data_key
from authserver.crypto.subkeys import dpop_nonce_key
from authserver.events.outbox import EventOutbox
from authserver.events.signer import WebhookSigner
from authserver.events.ssrf import guard_from_settings
from authserver.events.subscriptions import WebhookSubscriptions
from authserver.experience import Experience
from authserver.fapi import FapiPolicy
from authserver.keys.models import WEBHOOK_USE
from authserver.keys.service import WEBHOOK_ALGS
from authserver.keys.service import KeyService
from authserver.par.store import ParStore
from authserver.payments.sealed_initiation import InitiationSeal
from authserver.payments.sql import SqlPaymentProvider
from authserver.ratelimit.limiter import build_rate_limiter
from authserver.ratelimit.tiers import ClientTiers
from authserver.resources.context import ResourceServices
from authserver.revocation.publisher import RevocationPublisher
from authserver.sca.enrolment import FactorService
from authserver.sca.lockout import Lockout
from authserver.sca.login import LoginService
from authserver.sca.passkeys import PasskeyService
from authserver.sca.passkeys import RelyingParty
from authserver.sca.policy import ScaPolicy
from authserver.sca.service import UserService
from authserver.sca.totp import TotpVerifier
from authserver.settings import Settings
from authserver.store import build_store
from authserver.tokens.access_token import AccessTokenIssuer
from authserver.tokens.codes import CodeStore
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.refresh import RefreshTokenService
from authserver.tokens.revocation import RevocationService
from authserver.tokens.verifier import AccessTokenVerifier
from authserver.wiring import build_dpop_validator
from authserver.wiring import build_replay_epoch
from authserver.wiring import build_revocation_view


@dataclass(frozen=True)
class AppServices:
    """The three views of one app's services: protocol views, pages, resource endpoints."""

    services: Services
    experience: Experience
    resources: ResourceServices


def build_services(settings: Settings, clock: Clock, master_key: bytes) -> AppServices:
    envelope = Envelope(master_key)
    store = build_store(settings, clock)
    audit = AuditTrail(clock, max_unchained_seconds=settings.audit.max_unchained_seconds)
    client_changes = ClientChanges(store)
    clients = ClientService(clock, audit, client_changes)
    client_cache = ClientCache(
        clients.get, store, client_changes, settings.oauth.client_cache_seconds
    )
    policy = FapiPolicy.from_settings(settings.oauth)
    replay_epoch = build_replay_epoch(settings, store, clock)
    publisher = RevocationPublisher(store, clock)
    ledger = AccessTokenLedger(store, clock, publisher)
    refresh = RefreshTokenService(
        settings.tokens, settings.oauth.refresh_grace, store, envelope, clock, ledger, audit
    )
    client_keys = ClientKeyResolver(
        settings.oauth.jwks_fetch_timeout, settings.oauth.jwks_cache_seconds, clock
    )
    keys = KeyService(settings.keys, envelope, clock)
    webhook_keys = KeyService(
        settings.webhooks.keys, envelope, clock, use=WEBHOOK_USE, algs=WEBHOOK_ALGS
    )
    outbox = EventOutbox(clock, WebhookSigner(webhook_keys, settings.issuer))
    # Account identifiers are sealed under their own key, never the master key itself, so
    # a separate resource server can open them with AUTHSERVER_ACCOUNT_DATA_SECRET alone.
    account_data = Envelope(account_data_key(settings, master_key))
    accounts = SqlAccountProvider(account_data)
    consents = ConsentService(clock, audit, outbox=outbox, initiations=InitiationSeal(account_data))
    users = UserService(envelope, clock, audit)
    revocations = RevocationService(
        clock=clock,
        audit=audit,
        clients=clients,
        consents=consents,
        users=users,
        ledger=ledger,
        publisher=publisher,
    )
    revocation_view = build_revocation_view(store, clock, publisher)
    tokens = AccessTokenIssuer(
        settings=settings.tokens,
        issuer=settings.issuer,
        keys=keys,
        ledger=ledger,
        clock=clock,
        id_token_alg=policy.id_token_signing_alg,
    )
    # In one process the verifier reads the key table through the read-only view.
    verifier = AccessTokenVerifier(
        issuer=settings.issuer,
        audience=tokens.audience,
        keys=keys.published,
        clock=clock,
        revocations=revocation_view,
    )
    dpop = build_dpop_validator(
        settings, settings.issuer, clock, dpop_nonce_key(settings, master_key), replay_epoch
    )
    rate_limits = build_rate_limiter(settings)
    found = Services(
        settings=settings,
        clock=clock,
        store=store,
        envelope=envelope,
        keys=keys,
        audit=audit,
        clients=clients,
        users=users,
        policy=policy,
        client_keys=client_keys,
        client_cache=client_cache,
        client_auth=ClientAuthenticator(
            client_cache, client_keys, policy, settings.issuer, clock, replay_epoch
        ),
        par=ParStore(store, clock),
        codes=CodeStore(store, clock, settings.tokens.code_ttl),
        consents=consents,
        ledger=ledger,
        refresh=refresh,
        revocations=revocations,
        revocation_view=revocation_view,
        dpop=dpop,
        tokens=tokens,
        verifier=verifier,
        initiations=InitiationSeal(account_data),
        webhook_keys=webhook_keys,
        rate_limits=rate_limits,
    )
    resources = ResourceServices(
        policy=policy,
        clock=clock,
        store=store,
        dpop=dpop,
        verifier=verifier,
        consents=consents,
        revocations=revocations,
        revocation_view=revocation_view,
        audit=audit,
        accounts=accounts,
        payments=SqlPaymentProvider(account_data),
        outbox=outbox,
        webhooks=WebhookSubscriptions(clock, guard_from_settings(settings)),
        rate_limits=rate_limits,
        # The client cache already keeps registrations fresh: no second cache on top.
        client_tiers=ClientTiers(client_cache.get, ttl=0),
    )
    totp = TotpVerifier(store, clock, users.totp_secret)
    lockout = Lockout(settings.sca, store, clock, audit)
    people = Experience(
        consents=consents,
        users=users,
        accounts=accounts,
        login=LoginService(users, totp, lockout, audit),
        totp=totp,
        lockout=lockout,
        sca_policy=ScaPolicy(settings.sca, users),
        factors=FactorService(store, envelope, users, totp, lockout),
        passkeys=PasskeyService(store, clock, audit, RelyingParty.from_issuer(settings.issuer)),
    )
    return AppServices(found, people, resources)
