"""The services of one authorization-server app, built once in create_app and found by views.

Only views (blueprints and endpoints) and the app factory use this module; services get
their collaborators through their constructors. Every member is of the ground or the
protocol floor: consents and users appear as the protocol floor's interfaces (the
consent gate, the user directory), so a protocol view importing this module does not
reach the experience floor. Pages for people find the concrete consent and user
services through ``authserver.experience``.

Keeping them in ``app.extensions`` (not module globals) lets tests build many
apps side by side, each with its own settings, clock and store.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import current_app

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentGate
from authserver.checks.user_directory import UserDirectory
from authserver.client_auth.jwks import ClientKeyResolver
from authserver.client_auth.service import ClientAuthenticator
from authserver.clients.cache import ClientCache
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.crypto.envelope import Envelope
from authserver.dpop.proof import DPoPValidator
from authserver.fapi import FapiPolicy
from authserver.keys.service import KeyService
from authserver.par.store import ParStore
from authserver.payments.sealed_initiation import InitiationSeal
from authserver.ratelimit.limiter import RateLimiter
from authserver.revocation.view import RevocationView
from authserver.settings import Settings
from authserver.store.base import Store
from authserver.tokens.access_token import AccessTokenIssuer
from authserver.tokens.codes import CodeStore
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.refresh import RefreshTokenService
from authserver.tokens.revocation import RevocationService
from authserver.tokens.verifier import AccessTokenVerifier

EXTENSION_KEY = "authserver"


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    store: Store
    envelope: Envelope
    keys: KeyService
    audit: AuditTrail
    clients: ClientService
    users: UserDirectory
    policy: FapiPolicy
    client_keys: ClientKeyResolver
    client_cache: ClientCache
    """Registrations for client authentication, cached per process (clients/cache.py)."""
    client_auth: ClientAuthenticator
    par: ParStore
    codes: CodeStore
    consents: ConsentGate
    ledger: AccessTokenLedger
    refresh: RefreshTokenService
    revocations: RevocationService
    revocation_view: RevocationView
    dpop: DPoPValidator
    tokens: AccessTokenIssuer
    verifier: AccessTokenVerifier
    initiations: InitiationSeal
    """Opens a payment consent's Initiation (its account numbers are sealed at rest)."""
    webhook_keys: KeyService
    """The webhook signing keys (use ``webhook``), published at /v1/.well-known/jwks.json."""
    rate_limits: RateLimiter
    """Per-client budgets of /par and /token (and, through the resources, OB endpoints)."""


def services(app: Flask | None = None) -> Services:
    target = app or current_app
    found: Services = target.extensions[EXTENSION_KEY]
    return found
