"""The open-banking consent an authorization request names, and whether it may be authorised.

Two ways to name it, both accepted by PAR (plain or inside a request object):

- the UK Open Banking form: OIDC Core §5.5 ``claims`` asking for the essential claim
  ``openbanking_intent_id`` with ``value`` = the ConsentId, under ``id_token`` and/or
  ``userinfo``; its errors are ``invalid_request``;
- the FAPI 2.0 form: RFC 9396 ``authorization_details``
  ``[{"type": "account_access" | "payment_initiation", "consent_id": "…"}]``; its errors are
  ``invalid_authorization_details`` (RFC 9396 §5). The type must be the one of the
  consent's kind (``DETAILS_TYPES``).

Either way the consent must be an account-access or domestic-payment consent, exist, be
held by the client, await authorisation (AWAU) and not be past its expiry: ``check_consent``
is that one rule, asked at PAR and again by the consent page (the consent may have moved
while the user was logging in).

The requested ``scope`` is not compared with the consent's kind, for either kind: the
consent bounds what the token may do, and each resource server requires its own scope
(``accounts:read``, ``payments:write``) on the token, so a request without it yields a
token that the API refuses, never more access.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authserver.checks.consent_gate import ConsentGate
from authserver.checks.consent_gate import ConsentView
from authserver.checks.errors import InvalidAuthorizationDetailsError
from authserver.checks.identifiers import is_identifier
from authserver.errors import AuthServerError
from authserver.errors import InvalidRequestError
from authserver.fapi import FapiPolicy

# UK OB: the claim (ID token, userinfo, access token) naming the ConsentId the user
# authorised; OIDC ``claims`` asks for it as essential. The one definition.
INTENT_CLAIM = "openbanking_intent_id"
CLAIMS_FORM = "claims"
RAR_FORM = "authorization_details"
# OIDC Core §5.5: the two members of the claims request that can carry the intent.
CLAIM_TARGETS = ("id_token", "userinfo")
# v4.0: ConsentId is an opaque string of at most 128 characters.
MAX_CONSENT_ID_LENGTH = 128
AWAITING_AUTHORISATION = "AWAU"
_RAR_FIELDS = frozenset({"type", "consent_id"})
# The RFC 9396 type that names a consent of each kind (v4.0 AISP / PISP).
DETAILS_TYPES = {"account_access": "account_access", "domestic_payment": "payment_initiation"}

UNKNOWN_CONSENT = "The consent is unknown."
FOREIGN_CONSENT = "The consent belongs to another client."
NOT_AWAITING = "The consent is not awaiting authorisation."
EXPIRED_CONSENT = "The consent has expired."
WRONG_DETAILS_TYPE = "The authorization_details type does not match the consent."


@dataclass(frozen=True)
class Intent:
    """The consent a request names, how it named it, and where the id is to appear."""

    consent_id: str
    form: str
    """``authorization_details`` when RAR was used (with or without claims), else ``claims``."""
    claim_targets: tuple[str, ...] = ()
    """Where ``openbanking_intent_id`` was asked for: ``id_token`` and/or ``userinfo``."""
    details_type: str | None = None
    """The RFC 9396 ``type`` named (RAR form only)."""


def _json(value: str, error: AuthServerError) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):  # nesting deeper than the parser's stack
        raise error from None


def _claims_intent(raw: str) -> tuple[str, tuple[str, ...]] | None:
    """(ConsentId, targets) from an OIDC claims request; None when it asks for no intent."""
    claims = _json(raw, InvalidRequestError("claims must be a JSON object."))
    if not isinstance(claims, dict):
        raise InvalidRequestError("claims must be a JSON object.")
    found: dict[str, str] = {}
    for target in CLAIM_TARGETS:
        member = claims.get(target)
        if member is None:
            continue
        if not isinstance(member, dict):
            raise InvalidRequestError("claims members must be JSON objects.")
        if INTENT_CLAIM not in member:
            continue
        request = member[INTENT_CLAIM]
        # UK OB: the intent claim is requested as essential, with the ConsentId as value.
        if not isinstance(request, dict) or request.get("essential") is not True:
            raise InvalidRequestError("openbanking_intent_id must be requested as essential.")
        value = request.get("value")
        if not isinstance(value, str) or not is_identifier(value, max_length=MAX_CONSENT_ID_LENGTH):
            raise InvalidRequestError("openbanking_intent_id needs a valid consent id value.")
        found[target] = value
    if not found:
        return None
    if len(set(found.values())) > 1:
        raise InvalidRequestError("openbanking_intent_id differs between id_token and userinfo.")
    return next(iter(found.values())), tuple(found)


def _rar_intent(raw: str, policy: FapiPolicy) -> tuple[str, str]:
    """(ConsentId, type) of an RFC 9396 authorization_details array (exactly one entry)."""
    details = _json(raw, InvalidAuthorizationDetailsError())
    # RFC 9396 §2: a JSON array of objects, each with a type.
    if not isinstance(details, list) or not details:
        raise InvalidAuthorizationDetailsError("authorization_details must be a non-empty array.")
    if not all(isinstance(entry, dict) for entry in details):
        raise InvalidAuthorizationDetailsError("Each authorization_details entry is an object.")
    if any(entry.get("type") not in policy.authorization_details_types for entry in details):
        raise InvalidAuthorizationDetailsError("Unknown authorization_details type.")
    if len(details) != 1:
        raise InvalidAuthorizationDetailsError("Exactly one consent may be named.")
    entry = details[0]
    if set(entry) - _RAR_FIELDS:
        raise InvalidAuthorizationDetailsError("Unknown field in authorization_details.")
    consent_id = entry.get("consent_id")
    if not is_identifier(consent_id, max_length=MAX_CONSENT_ID_LENGTH):
        raise InvalidAuthorizationDetailsError("consent_id is missing or invalid.")
    return str(consent_id), str(entry["type"])


def read_intent(params: Mapping[str, str], policy: FapiPolicy) -> Intent | None:
    """The consent named by ``claims`` and/or ``authorization_details`` (shape only)."""
    use_claims = policy.claims_parameter and CLAIMS_FORM in params
    from_claims = _claims_intent(params[CLAIMS_FORM]) if use_claims else None
    from_rar = _rar_intent(params[RAR_FORM], policy) if RAR_FORM in params else None
    if from_rar is not None:
        targets = from_claims[1] if from_claims else ()
        if from_claims is not None and from_claims[0] != from_rar[0]:
            raise InvalidRequestError("claims and authorization_details name different consents.")
        return Intent(from_rar[0], RAR_FORM, targets, from_rar[1])
    if from_claims is not None:
        return Intent(from_claims[0], CLAIMS_FORM, from_claims[1])
    return None


def consent_problem(view: ConsentView | None, client_id: str, now: datetime) -> str | None:
    """Why the consent cannot be authorised by this client now; None when it can."""
    if view is None or view.kind not in DETAILS_TYPES:
        return UNKNOWN_CONSENT
    if view.client_id != client_id:
        return FOREIGN_CONSENT
    if view.status != AWAITING_AUTHORISATION:
        return NOT_AWAITING
    if view.expires_at is not None and view.expires_at <= now:
        return EXPIRED_CONSENT
    return None


def check_consent(intent: Intent, client_id: str, consents: ConsentGate, now: datetime) -> None:
    """Raise the form's error with a fixed description when the consent cannot be authorised."""
    view = consents.view(intent.consent_id)
    problem = consent_problem(view, client_id, now)
    if problem is None and view is not None and intent.form == RAR_FORM:
        # RFC 9396 §5: a type the AS knows but that does not fit the consent named.
        problem = None if DETAILS_TYPES[view.kind] == intent.details_type else WRONG_DETAILS_TYPE
    if problem is None:
        return
    if intent.form == RAR_FORM:
        raise InvalidAuthorizationDetailsError(problem)
    raise InvalidRequestError(problem)
