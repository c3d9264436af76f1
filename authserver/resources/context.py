"""What the resource endpoints use, found through the app: built by the authorization
server's factory (resources in the same app) or by ``authserver.rs`` (their own process).

Every member verifies, checks or revokes; none signs or holds a private key, so the
same blueprints serve in both apps and a resource server needs no master key.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import current_app

from authserver.accounts.provider import AccountProvider
from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentGate
from authserver.clock import Clock
from authserver.dpop.proof import DPoPValidator
from authserver.events.outbox import EventOutbox
from authserver.events.subscriptions import WebhookSubscriptions
from authserver.fapi import FapiPolicy
from authserver.payments.provider import PaymentProvider
from authserver.ratelimit.limiter import RateLimiter
from authserver.ratelimit.tiers import ClientTiers
from authserver.revocation.view import RevocationView
from authserver.store.base import Store
from authserver.tokens.revocation import RevocationService
from authserver.tokens.verifier import AccessTokenVerifier

EXTENSION_KEY = "authserver.resources"


@dataclass(frozen=True)
class ResourceServices:
    policy: FapiPolicy
    clock: Clock
    store: Store
    dpop: DPoPValidator
    verifier: AccessTokenVerifier
    consents: ConsentGate
    """Read the consent a request is about; mark it revoked through ``revocations``."""
    revocations: RevocationService
    revocation_view: RevocationView
    audit: AuditTrail
    """Every read of account data is an audit event (who, which consent, which accounts)."""
    accounts: AccountProvider | None
    """The bank's account data; None in a resource server without the account-data key,
    which then does not serve the accounts endpoints."""
    payments: PaymentProvider | None = None
    """The bank's payment rail; only the authorization server's app has one (the payment
    endpoints sign responses with its private key, see ``authserver.pisp``)."""
    outbox: EventOutbox | None = None
    """Where payment status changes become webhook events (in the payment's transaction)."""
    webhooks: WebhookSubscriptions | None = None
    """Webhook subscriptions and polled events (``/webhooks/*``)."""
    rate_limits: RateLimiter | None = None
    """Per-client budgets of the OB consent and payment endpoints; None: not limited."""
    client_tiers: ClientTiers | None = None
    """The rate-limit tier of a token's client."""


def resource_services(app: Flask | None = None) -> ResourceServices:
    target = app or current_app
    found: ResourceServices = target.extensions[EXTENSION_KEY]
    return found
