"""The v4.0 response bodies of the payment endpoints (OBWriteDomesticConsentResponse5,
OBWriteFundsConfirmationResponse1, OBWriteDomesticResponse5, OBWritePaymentDetailsResponse1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response

from authserver.checks.consent_gate import ConsentView
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.openbanking.envelope import ob_response
from authserver.openbanking.envelope import self_url
from authserver.payments.provider import RCVD
from authserver.payments.provider import RJCT
from authserver.payments.provider import Payment

CONSENTS = "/domestic-payment-consents"
PAYMENTS = "/domestic-payments"
# Echoed as the TPP sent them (the consent stores them beside the Initiation).
ECHOED = ("ReadRefundAccount", "Authorisation", "SCASupportData")
REASONS = {"AM04": "Insufficient funds in the debtor account."}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def consent(view: ConsentView, initiation: dict[str, Any], status: int = 200) -> Response:
    """``initiation``: the consent's Initiation opened (its stored form is sealed)."""
    data: dict[str, Any] = {
        "ConsentId": view.consent_id,
        "CreationDateTime": _time(view.created_at),
        "Status": view.status,
        "StatusUpdateDateTime": _time(view.status_updated_at),
    }
    data.update({name: view.details[name] for name in ECHOED if name in view.details})
    data["Initiation"] = initiation
    return ob_response(
        data,
        links={"Self": self_url(f"{PISP_PREFIX}{CONSENTS}/{view.consent_id}")},
        extra={"Risk": view.details.get("Risk", {})},
        status=status,
    )


def funds(available: bool, at: datetime) -> Response:
    result = {"FundsAvailableDateTime": at.isoformat(), "FundsAvailable": available}
    return ob_response({"FundsAvailableResult": result})


def payment(found: Payment, initiation: dict[str, Any], status: int = 200) -> Response:
    """``initiation``: the Initiation of the payment's consent, opened."""
    data: dict[str, Any] = {
        "DomesticPaymentId": found.payment_id,
        "ConsentId": found.consent_id,
        "CreationDateTime": _time(found.created_at),
        "Status": found.status,
        "StatusUpdateDateTime": _time(found.status_updated_at),
    }
    if found.status_reason is not None:
        data["StatusReason"] = [
            {
                "StatusReasonCode": found.status_reason,
                "StatusReasonDescription": REASONS.get(found.status_reason, "Rejected."),
            }
        ]
    data["Initiation"] = initiation
    own = self_url(f"{PISP_PREFIX}{PAYMENTS}/{found.payment_id}")
    return ob_response(data, links={"Self": own}, status=status)


def payment_details(found: Payment) -> Response:
    """Every status the payment went through after it was received (RCVD is not a
    transfer status of ``OBWritePaymentDetails1``), oldest first."""
    statuses: list[dict[str, Any]] = []
    for change in found.history:
        if change.status == RCVD:
            continue
        entry: dict[str, Any] = {
            "PaymentTransactionId": found.payment_id,
            "Status": change.status,
            "StatusUpdateDateTime": change.at.isoformat(),
        }
        if change.status == RJCT and found.status_reason is not None:
            entry["StatusDetail"] = {"Status": RJCT, "StatusReason": found.status_reason}
        statuses.append(entry)
    return ob_response({"PaymentStatus": statuses})
