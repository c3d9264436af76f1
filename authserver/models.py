"""Imports every model so ``Base.metadata`` is complete for Alembic and the drift test."""

from authserver.accounts.models import AccountBalanceRow
from authserver.accounts.models import AccountRow
from authserver.accounts.models import AccountTransactionRow
from authserver.audit.models import AuditEvent
from authserver.clients.models import Client
from authserver.consent.models import Consent
from authserver.db import Base
from authserver.events.models import WebhookDelivery
from authserver.events.models import WebhookEvent
from authserver.events.models import WebhookSubscription
from authserver.keys.models import SigningKey
from authserver.payments.models import DomesticPaymentRow
from authserver.revocation.models import RevocationWatermark
from authserver.sca.models import User
from authserver.sca.passkey_models import Passkey
from authserver.tokens.models import IssuedAccessToken
from authserver.tokens.models import RefreshToken

__all__ = [
    "AccountBalanceRow",
    "AccountRow",
    "AccountTransactionRow",
    "AuditEvent",
    "Base",
    "Client",
    "Consent",
    "DomesticPaymentRow",
    "IssuedAccessToken",
    "Passkey",
    "RefreshToken",
    "RevocationWatermark",
    "SigningKey",
    "User",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
