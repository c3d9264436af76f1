"""The payment-initiation part of ``/openapi.json`` (UK OB v4.0 shapes, narrowed to what
we accept and send): OBWriteDomesticConsent4 and its response OBWriteDomesticConsentResponse5,
OBWriteFundsConfirmationResponse1, OBWriteDomestic2 and OBWriteDomesticResponse5,
OBWritePaymentDetailsResponse1. Objects we produce close with ``additionalProperties:
false``; ``Risk`` is echoed as the TPP sent it (checked by the request parser)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authserver.openbanking.envelope import PISP_PREFIX
from authserver.openbanking.payment_initiation import CREDITOR_REFERENCE_CODES
from authserver.openbanking.payment_initiation import LOCAL_INSTRUMENTS

Schema = dict[str, Any]
_DATE_TIME = {"type": "string", "format": "date-time"}
_TRANSFER_STATUSES = ["ACSP", "ACSC", "RJCT"]


def schemas(
    obj: Callable[..., Schema], string: Callable[..., Schema], ref: Callable[[str], Schema]
) -> dict[str, Schema]:
    """The payment schemas, built with the document's own helpers."""
    amount = obj(
        {
            "Amount": {"type": "string", "pattern": r"^\d{1,13}$|^\d{1,13}\.\d{1,5}$"},
            "Currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        ["Amount", "Currency"],
    )
    account = obj(
        {
            "SchemeName": string(40),
            "Identification": string(256),
            "Name": string(350),
            "SecondaryIdentification": string(34),
        },
        ["SchemeName", "Identification"],
    )
    reference = obj(
        {
            "CreditorReferenceInformation": obj(
                {
                    "Code": {"type": "string", "enum": list(CREDITOR_REFERENCE_CODES)},
                    "Issuer": string(35),
                    "Reference": string(35),
                }
            )
        },
        ["CreditorReferenceInformation"],
    )
    initiation = obj(
        {
            "InstructionIdentification": string(35),
            "EndToEndIdentification": string(35),
            "LocalInstrument": {"type": "string", "enum": list(LOCAL_INSTRUMENTS)},
            "InstructedAmount": amount,
            "DebtorAccount": account,
            "CreditorAccount": account,
            "RemittanceInformation": obj(
                {
                    "Unstructured": {"type": "array", "items": string(140)},
                    "Structured": {"type": "array", "items": reference},
                }
            ),
        },
        ["InstructionIdentification", "EndToEndIdentification", "InstructedAmount"]
        + ["CreditorAccount"],
    )
    authorisation = obj(
        {
            "AuthorisationType": {"type": "string", "enum": ["Any", "Single"]},
            "CompletionDateTime": _DATE_TIME,
        },
        ["AuthorisationType"],
    )
    consent_data = {
        "ReadRefundAccount": {"type": "string", "enum": ["No", "Yes"]},
        "Authorisation": authorisation,
        "SCASupportData": {"type": "object"},
        "Initiation": ref("OBPaymentInitiation"),
    }
    envelope = {"Links": ref("Links"), "Meta": ref("Meta")}
    status_reason = obj(
        {"StatusReasonCode": string(4), "StatusReasonDescription": string(500)},
        ["StatusReasonCode"],
    )
    return {
        "OBPaymentInitiation": initiation,
        "OBPaymentRisk": {"type": "object"},
        "OBWriteDomesticConsent4": obj(
            {"Data": obj(consent_data, ["Initiation"]), "Risk": ref("OBPaymentRisk")},
            ["Data", "Risk"],
        ),
        "OBWriteDomesticConsentResponse5": obj(
            {
                "Data": obj(
                    {
                        "ConsentId": string(128),
                        "CreationDateTime": _DATE_TIME,
                        "Status": {"type": "string", "enum": ["AWAU", "RJCT", "AUTH", "COND"]},
                        "StatusUpdateDateTime": _DATE_TIME,
                        **consent_data,
                    },
                    ["ConsentId", "CreationDateTime", "Status", "StatusUpdateDateTime"]
                    + ["Initiation"],
                ),
                "Risk": ref("OBPaymentRisk"),
                **envelope,
            },
            ["Data", "Risk", "Links", "Meta"],
        ),
        "OBWriteFundsConfirmationResponse1": obj(
            {
                "Data": obj(
                    {
                        "FundsAvailableResult": obj(
                            {
                                "FundsAvailableDateTime": _DATE_TIME,
                                "FundsAvailable": {"type": "boolean"},
                            },
                            ["FundsAvailableDateTime", "FundsAvailable"],
                        )
                    },
                    ["FundsAvailableResult"],
                ),
                **envelope,
            },
            ["Data", "Links", "Meta"],
        ),
        "OBWriteDomestic2": obj(
            {
                "Data": obj(
                    {"ConsentId": string(128), "Initiation": ref("OBPaymentInitiation")},
                    ["ConsentId", "Initiation"],
                ),
                "Risk": ref("OBPaymentRisk"),
            },
            ["Data", "Risk"],
        ),
        "OBWriteDomesticResponse5": obj(
            {
                "Data": obj(
                    {
                        "DomesticPaymentId": string(40),
                        "ConsentId": string(128),
                        "CreationDateTime": _DATE_TIME,
                        "Status": {"type": "string", "enum": ["RCVD", *_TRANSFER_STATUSES]},
                        "StatusUpdateDateTime": _DATE_TIME,
                        "StatusReason": {"type": "array", "items": status_reason},
                        "Initiation": ref("OBPaymentInitiation"),
                    },
                    ["DomesticPaymentId", "ConsentId", "CreationDateTime", "Status"]
                    + ["StatusUpdateDateTime", "Initiation"],
                ),
                **envelope,
            },
            ["Data", "Links", "Meta"],
        ),
        "OBWritePaymentDetailsResponse1": obj(
            {
                "Data": obj(
                    {
                        "PaymentStatus": {
                            "type": "array",
                            "items": obj(
                                {
                                    "PaymentTransactionId": string(210),
                                    "Status": {"type": "string", "enum": _TRANSFER_STATUSES},
                                    "StatusUpdateDateTime": _DATE_TIME,
                                    "StatusDetail": obj(
                                        {
                                            "Status": {"type": "string", "enum": ["RJCT"]},
                                            "StatusReason": string(4),
                                        },
                                        ["Status"],
                                    ),
                                },
                                ["PaymentTransactionId", "Status", "StatusUpdateDateTime"],
                            ),
                        }
                    },
                    ["PaymentStatus"],
                ),
                **envelope,
            },
            ["Data", "Links", "Meta"],
        ),
    }


_SIGNED_POST = [
    {
        "name": "x-idempotency-key",
        "in": "header",
        "required": True,
        "description": "1-40 printable characters; the same key and body replay the answer (24 h).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 40},
    },
    {
        "name": "x-jws-signature",
        "in": "header",
        "required": True,
        "description": "Detached JWS (PS256/ES256) over the body by a key of the client's JWKS.",
        "schema": {"type": "string"},
    },
]


def paths(
    operation: Callable[..., Schema],
    json: Callable[[str, str], Schema],
    path: Callable[[str], Schema],
) -> dict[str, Schema]:
    """The payment paths, built with the document's own helpers."""
    consents = f"{PISP_PREFIX}/domestic-payment-consents"
    payments = f"{PISP_PREFIX}/domestic-payments"
    consent_id, payment_id = path("ConsentId"), path("DomesticPaymentId")
    consent = json("OBWriteDomesticConsentResponse5", "The payment consent")
    payment = json("OBWriteDomesticResponse5", "The payment")
    return {
        consents: {
            "post": operation(
                "Create a domestic payment consent (client-credentials token, signed, idempotent)",
                201,
                json("OBWriteDomesticConsentResponse5", "Created, awaiting authorisation"),
                400,
                401,
                403,
                409,
                415,
                422,
                parameters=_SIGNED_POST,
                body="OBWriteDomesticConsent4",
            )
        },
        consents + "/{ConsentId}": {
            "get": operation(
                "Read a payment consent", 200, consent, 401, 403, 404, parameters=[consent_id]
            )
        },
        consents + "/{ConsentId}/funds-confirmation": {
            "get": operation(
                "Whether the debtor account covers the amount (authorization-code token)",
                200,
                json("OBWriteFundsConfirmationResponse1", "Funds availability"),
                400,
                401,
                403,
                404,
                parameters=[consent_id],
            )
        },
        payments: {
            "post": operation(
                "Make the consent's one payment (authorization-code token, signed, idempotent)",
                201,
                json("OBWriteDomesticResponse5", "Made (ACSC) or recorded as rejected (RJCT)"),
                400,
                401,
                403,
                409,
                415,
                422,
                parameters=_SIGNED_POST,
                body="OBWriteDomestic2",
            )
        },
        payments + "/{DomesticPaymentId}": {
            "get": operation("Read a payment", 200, payment, 401, 403, 404, parameters=[payment_id])
        },
        payments + "/{DomesticPaymentId}/payment-details": {
            "get": operation(
                "The payment's status history",
                200,
                json("OBWritePaymentDetailsResponse1", "Statuses, oldest first"),
                401,
                403,
                404,
                parameters=[payment_id],
            )
        },
    }
