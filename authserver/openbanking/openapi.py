"""``GET /openapi.json``: our OpenAPI 3.1 description of the open-banking endpoints.

Written by us, in the shapes of the UK OB Read/Write API v4.0 (OBReadConsent1,
OBReadConsentResponse1, OBReadAccount6, OBReadBalance1, OBReadTransaction6,
OBErrorResponse1; the payment shapes in ``openapi_payments``), narrowed to the fields
this server sends: every object that is ours closes with ``additionalProperties:
false``, so the contract test that validates real responses against this document
notices a field we add without describing it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from authserver.openbanking.envelope import AISP_PREFIX
from authserver.openbanking.permissions import PERMISSIONS

bp = Blueprint("openapi", __name__)

OPENAPI_PATH = "/openapi.json"
Schema = dict[str, Any]

_STATUSES = ["AWAU", "AUTH", "RJCT", "CANC", "EXPD"]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: Schema, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _string(max_length: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", "minLength": 1, **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def _envelope(data: Schema) -> Schema:
    return _object(
        {"Data": data, "Links": _ref("Links"), "Meta": _ref("Meta")}, ["Data", "Links", "Meta"]
    )


def _list_of(item: str, member: str) -> Schema:
    return _envelope(_object({member: {"type": "array", "items": _ref(item)}}, [member]))


_DATE_TIME = {"type": "string", "format": "date-time"}
_AMOUNT = _object(
    {
        "Amount": {"type": "string", "pattern": r"^\d{1,13}$|^\d{1,13}\.\d{1,5}$"},
        "Currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
    ["Amount", "Currency"],
)
_CREDIT_DEBIT = {"type": "string", "enum": ["Credit", "Debit"]}
_PERMISSIONS = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": list(PERMISSIONS)},
}

SCHEMAS: dict[str, Schema] = {
    "Links": _object(
        {
            name: {"type": "string", "format": "uri"}
            for name in ("Self", "First", "Prev", "Next", "Last")
        },
        ["Self"],
    ),
    "Meta": _object(
        {
            "TotalPages": {"type": "integer", "minimum": 1},
            "FirstAvailableDateTime": _DATE_TIME,
            "LastAvailableDateTime": _DATE_TIME,
        }
    ),
    "OBError1": _object(
        {
            "ErrorCode": {"type": "string", "pattern": "^[A-Z0-9]{4}$"},
            "Message": _string(500),
            "Path": _string(500),
            "Url": {"type": "string"},
        },
        ["ErrorCode"],
    ),
    "OBErrorResponse1": _object(
        {"Errors": {"type": "array", "minItems": 1, "items": _ref("OBError1")}}, ["Errors"]
    ),
    "OBRisk2": {"type": "object"},
    "OBReadConsent1": _object(
        {
            "Data": _object(
                {
                    "Permissions": _PERMISSIONS,
                    "ExpirationDateTime": _DATE_TIME,
                    "TransactionFromDateTime": _DATE_TIME,
                    "TransactionToDateTime": _DATE_TIME,
                },
                ["Permissions"],
            ),
            "Risk": _ref("OBRisk2"),
        },
        ["Data", "Risk"],
    ),
    "OBReadConsentResponse1": _object(
        {
            "Data": _object(
                {
                    "ConsentId": _string(128),
                    "CreationDateTime": _DATE_TIME,
                    "Status": {"type": "string", "enum": _STATUSES},
                    "StatusUpdateDateTime": _DATE_TIME,
                    "Permissions": _PERMISSIONS,
                    "ExpirationDateTime": _DATE_TIME,
                    "TransactionFromDateTime": _DATE_TIME,
                    "TransactionToDateTime": _DATE_TIME,
                },
                ["ConsentId", "CreationDateTime", "Status", "StatusUpdateDateTime", "Permissions"],
            ),
            "Risk": _ref("OBRisk2"),
            "Links": _ref("Links"),
            "Meta": _ref("Meta"),
        },
        ["Data", "Risk", "Links", "Meta"],
    ),
    "OBAccount6Identifier": _object(
        {
            "SchemeName": _string(40),
            "Identification": _string(256),
            "Name": _string(350),
            "SecondaryIdentification": _string(34),
        },
        ["SchemeName", "Identification"],
    ),
    "OBAccount6": _object(
        {
            "AccountId": _string(40),
            "Status": {
                "type": "string",
                "enum": ["Deleted", "Disabled", "Enabled", "Pending", "ProForma"],
            },
            "StatusUpdateDateTime": _DATE_TIME,
            "Currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "AccountCategory": {"type": "string", "enum": ["Business", "Personal"]},
            "AccountTypeCode": _string(4),
            "Description": _string(35),
            "Nickname": _string(70),
            "OpeningDate": _DATE_TIME,
            "Account": {"type": "array", "items": _ref("OBAccount6Identifier")},
        },
        ["AccountId"],
    ),
    "OBCashBalance1": _object(
        {
            "AccountId": _string(40),
            "CreditDebitIndicator": _CREDIT_DEBIT,
            "Type": _string(35),
            "DateTime": _DATE_TIME,
            "Amount": _AMOUNT,
        },
        ["AccountId", "CreditDebitIndicator", "Type", "DateTime", "Amount"],
    ),
    "OBCashAccount6": _object(
        {
            "SchemeName": _string(40),
            "Identification": _string(256),
            "Name": _string(350),
            "SecondaryIdentification": _string(34),
        }
    ),
    "OBTransaction6": _object(
        {
            "AccountId": _string(40),
            "TransactionId": _string(210),
            "TransactionReference": _string(210),
            "CreditDebitIndicator": _CREDIT_DEBIT,
            "Status": {"type": "string", "enum": ["BOOK", "PDNG", "FUTR", "INFO", "RJCT"]},
            "BookingDateTime": _DATE_TIME,
            "ValueDateTime": _DATE_TIME,
            "TransactionInformation": _string(500),
            "Amount": _AMOUNT,
            "Balance": _object(
                {
                    "CreditDebitIndicator": _CREDIT_DEBIT,
                    "Type": _string(35),
                    "Amount": _AMOUNT,
                },
                ["CreditDebitIndicator", "Type", "Amount"],
            ),
            "MerchantDetails": _object(
                {"MerchantName": _string(350), "MerchantCategoryCode": _string(4)}
            ),
            "CreditorAccount": _ref("OBCashAccount6"),
            "DebtorAccount": _ref("OBCashAccount6"),
        },
        ["AccountId", "CreditDebitIndicator", "Status", "BookingDateTime", "Amount"],
    ),
}
SCHEMAS["OBReadAccount6"] = _list_of("OBAccount6", "Account")
SCHEMAS["OBReadBalance1"] = _list_of("OBCashBalance1", "Balance")
SCHEMAS["OBReadTransaction6"] = _list_of("OBTransaction6", "Transaction")

_INTERACTION = {
    "name": "x-fapi-interaction-id",
    "in": "header",
    "required": False,
    "description": "An RFC 4122 UUID, echoed; made by the server when absent.",
    "schema": {"type": "string", "format": "uuid"},
}


def _json(schema: str, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    words = {
        400: "Invalid request (every failing field listed)",
        401: "Missing, invalid or revoked access token (RFC 6750 / RFC 9449 challenge)",
        403: "The token or consent does not allow this",
        404: "No such resource for this client",
        409: "A request with this x-idempotency-key is still in progress",
        415: "The body is not JSON",
        422: "This x-idempotency-key was used with another body",
    }
    found: dict[str, Schema] = {}
    for status in statuses:
        if status == 401:
            found["401"] = {"description": words[401]}
        else:
            found[str(status)] = _json("OBErrorResponse1", words[status])
    return found


def _operation(
    summary: str,
    ok_status: int,
    ok: Schema | None,
    *errors: int,
    parameters: list[Schema] | None = None,
    body: str | None = None,
) -> Schema:
    responses: dict[str, Schema] = {str(ok_status): ok or {"description": "Done"}}
    responses.update(_errors(*errors))
    operation: Schema = {
        "summary": summary,
        "parameters": [_INTERACTION, *(parameters or [])],
        "responses": responses,
        "security": [{"DPoP": []}, {"Bearer": []}],
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def _path_parameter(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": _string(128)}


_WINDOW = [
    {"name": "fromBookingDateTime", "in": "query", "schema": _DATE_TIME},
    {"name": "toBookingDateTime", "in": "query", "schema": _DATE_TIME},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
]
_ACCOUNT_ID = _path_parameter("AccountId")


def document() -> Schema:
    from authserver.openbanking import openapi_payments  # it builds with this module's helpers

    consents = f"{AISP_PREFIX}/account-access-consents"
    consent = _path_parameter("ConsentId")
    read_account = _json("OBReadAccount6", "Accounts")
    read_balance = _json("OBReadBalance1", "Balances")
    read_transaction = _json("OBReadTransaction6", "Transactions, newest first, one page")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "authserver open banking (UK OB Read/Write API v4.0 shapes)",
            "version": "4.0.0",
        },
        "paths": {
            consents: {
                "post": _operation(
                    "Create an account-access consent (client-credentials token)",
                    201,
                    _json("OBReadConsentResponse1", "Created, awaiting authorisation"),
                    400,
                    401,
                    403,
                    415,
                    body="OBReadConsent1",
                )
            },
            consents + "/{ConsentId}": {
                "get": _operation(
                    "Read a consent",
                    200,
                    _json("OBReadConsentResponse1", "The consent"),
                    401,
                    403,
                    404,
                    parameters=[consent],
                ),
                "delete": _operation(
                    "Withdraw a consent (its tokens die)",
                    204,
                    None,
                    401,
                    403,
                    404,
                    parameters=[consent],
                ),
            },
            f"{AISP_PREFIX}/accounts": {
                "get": _operation("The consented accounts", 200, read_account, 401, 403)
            },
            f"{AISP_PREFIX}/accounts/{{AccountId}}": {
                "get": _operation(
                    "One consented account", 200, read_account, 401, 403, parameters=[_ACCOUNT_ID]
                )
            },
            f"{AISP_PREFIX}/accounts/{{AccountId}}/balances": {
                "get": _operation(
                    "Balances of one account",
                    200,
                    read_balance,
                    401,
                    403,
                    parameters=[_ACCOUNT_ID],
                )
            },
            f"{AISP_PREFIX}/accounts/{{AccountId}}/transactions": {
                "get": _operation(
                    "Transactions of one account",
                    200,
                    read_transaction,
                    400,
                    401,
                    403,
                    parameters=[_ACCOUNT_ID, *_WINDOW],
                )
            },
            f"{AISP_PREFIX}/balances": {
                "get": _operation(
                    "Balances of every consented account", 200, read_balance, 401, 403
                )
            },
            f"{AISP_PREFIX}/transactions": {
                "get": _operation(
                    "Transactions of every consented account",
                    200,
                    read_transaction,
                    400,
                    401,
                    403,
                    parameters=_WINDOW,
                )
            },
            **openapi_payments.paths(_operation, _json, _path_parameter),
        },
        "components": {
            "schemas": {**SCHEMAS, **openapi_payments.schemas(_object, _string, _ref)},
            "securitySchemes": {
                "DPoP": {
                    "type": "http",
                    "scheme": "DPoP",
                    "description": "RFC 9449 DPoP-bound access token with a DPoP proof header",
                },
                "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


@bp.get(OPENAPI_PATH)
def openapi() -> Response:
    response = jsonify(document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
