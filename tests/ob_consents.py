"""Open-banking consents for the authorization tests: created the way the consent API will
(``ConsentGate.create``: AWAU, committed), and the two ways a TPP names one in PAR."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask

from authserver.context import Services

PERMISSIONS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsBasic",
    "ReadTransactionsCredits",
]
WINDOW = {
    "TransactionFromDateTime": "2026-01-01T00:00:00+00:00",
    "TransactionToDateTime": "2026-06-30T23:59:59+00:00",
}


def create_consent(
    app: Flask,
    svc: Services,
    client_id: str,
    *,
    permissions: list[str] | None = None,
    expires_at: datetime | None | str = "default",
) -> str:
    """A new account-access consent in AWAU held by ``client_id``; its ConsentId.

    ``expires_at`` defaults to one hour after the server's clock; None is open-ended."""
    expiry = svc.clock.now() + timedelta(hours=1) if expires_at == "default" else expires_at
    assert expiry is None or isinstance(expiry, datetime)
    details: dict[str, Any] = {"Permissions": permissions or PERMISSIONS, **WINDOW}
    if expiry is not None:
        details["ExpirationDateTime"] = expiry.isoformat()
    with app.app_context():
        view = svc.consents.create(
            client_id=client_id,
            kind="account_access",
            scopes=["accounts:read"],
            details=details,
            expires_at=expiry,
            request_id="t",
        )
    return view.consent_id


def intent_claims(consent_id: str, *targets: str, essential: bool = True) -> dict[str, Any]:
    """OIDC Core §5.5 claims asking for UK OB's openbanking_intent_id (default: id_token)."""
    request = {"value": consent_id, "essential": essential}
    return {target: {"openbanking_intent_id": request} for target in targets or ("id_token",)}


def rar(consent_id: str) -> list[dict[str, str]]:
    """RFC 9396 authorization_details naming the consent."""
    return [{"type": "account_access", "consent_id": consent_id}]


def as_param(value: Any) -> str:
    """A JSON-valued parameter in its form-encoded spelling."""
    return json.dumps(value)
