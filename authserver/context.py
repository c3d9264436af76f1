"""The services of one app instance, built once in create_app and found through the app.

Keeping them in ``app.extensions`` (not module globals) lets tests build many
apps side by side, each with its own settings, clock and store.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import current_app

from authserver.audit.service import AuditTrail
from authserver.client_auth.jwks import ClientKeyResolver
from authserver.client_auth.service import ClientAuthenticator
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.consent.service import ConsentService
from authserver.crypto.envelope import Envelope
from authserver.dpop.proof import DPoPValidator
from authserver.fapi import FapiPolicy
from authserver.keys.service import KeyService
from authserver.par.store import ParStore
from authserver.revocation.service import RevocationService
from authserver.revocation.view import RevocationView
from authserver.sca.service import UserService
from authserver.settings import Settings
from authserver.store.base import Store
from authserver.tokens.codes import CodeStore
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.refresh import RefreshTokenService

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
    users: UserService
    policy: FapiPolicy
    client_keys: ClientKeyResolver
    client_auth: ClientAuthenticator
    par: ParStore
    codes: CodeStore
    consents: ConsentService
    ledger: AccessTokenLedger
    refresh: RefreshTokenService
    revocations: RevocationService
    revocation_view: RevocationView
    dpop: DPoPValidator


def services(app: Flask | None = None) -> Services:
    target = app or current_app
    found: Services = target.extensions[EXTENSION_KEY]
    return found
