"""The ordered checks every authorization request passes, whether plain or inside a JAR.

PAR runs them before storing a request; the authorization endpoint only ever sees
a request_uri, so nothing is validated twice and nothing is validated differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authserver.checks.acr import required_acr
from authserver.checks.consent_gate import ConsentGate
from authserver.checks.errors import InvalidScopeError
from authserver.checks.errors import UnsupportedResponseTypeError
from authserver.checks.intent import check_consent
from authserver.checks.intent import read_intent
from authserver.checks.redirect_uri import is_registered
from authserver.clients.models import Client
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.errors import InvalidRequestError
from authserver.fapi import FapiPolicy
from authserver.pkce import check_challenge
from authserver.scopes import ADMIN_SCOPES


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request, as stored behind a request_uri."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    code_challenge_method: str
    response_mode: str
    state: str | None = None
    nonce: str | None = None
    dpop_jkt: str | None = None
    consent_id: str | None = None
    """The open-banking consent (ConsentId) the request asks the user to authorise."""
    intent_form: str | None = None
    """How it was named: ``claims`` (UK OB) or ``authorization_details`` (RFC 9396)."""
    intent_claims: tuple[str, ...] = ()
    """Where ``openbanking_intent_id`` was requested: ``id_token`` and/or ``userinfo``."""
    details_type: str | None = None
    """The RFC 9396 type that named the consent (``account_access``, ``payment_initiation``)."""
    acr_values: tuple[str, ...] = ()
    """The authentication contexts the client demands (``checks/acr.py``); empty: any."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        data["intent_claims"] = list(self.intent_claims)
        data["acr_values"] = list(self.acr_values)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        return cls(
            **{
                **data,
                "scopes": tuple(data["scopes"]),
                "intent_claims": tuple(data.get("intent_claims", ())),
                "acr_values": tuple(data.get("acr_values", ())),
            }
        )

    @property
    def is_openid(self) -> bool:
        return "openid" in self.scopes


Params = Mapping[str, str]
Check = Callable[[Params, Client, FapiPolicy], None]

# RFC 9449 §10: base64url (no padding) of a SHA-256 RFC 7638 thumbprint, 43 characters.
_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


def check_no_request_uri(params: Params, client: Client, policy: FapiPolicy) -> None:
    # RFC 9126 §2.1: request_uri MUST NOT be provided in a pushed request.
    if "request_uri" in params:
        raise InvalidRequestError("request_uri is not allowed in a pushed request.")


def check_client_id(params: Params, client: Client, policy: FapiPolicy) -> None:
    if "client_id" in params and params["client_id"] != client.client_id:
        raise InvalidRequestError("client_id does not match the authenticated client.")


def check_response_type(params: Params, client: Client, policy: FapiPolicy) -> None:
    response_type = params.get("response_type")
    if not response_type:
        raise InvalidRequestError("response_type is required.")
    # FAPI 2.0 SP 5.3.2.2-1: only the code flow.
    if response_type not in policy.response_types:
        raise UnsupportedResponseTypeError()


def check_redirect_uri(params: Params, client: Client, policy: FapiPolicy) -> None:
    redirect_uri = params.get("redirect_uri")
    # FAPI 2.0 SP 5.3.2.2-6: redirect_uri is required in the pushed request.
    if not redirect_uri:
        raise InvalidRequestError("redirect_uri is required.")
    if not is_registered(redirect_uri, client.redirect_uris):
        raise InvalidRequestError("redirect_uri is not registered for this client.")


def check_scope(params: Params, client: Client, policy: FapiPolicy) -> None:
    scopes = params.get("scope", "").split()
    if not scopes:
        raise InvalidScopeError("scope is required.")
    if any(scope not in client.scopes or scope in ADMIN_SCOPES for scope in scopes):
        raise InvalidScopeError()


def check_pkce(params: Params, client: Client, policy: FapiPolicy) -> None:
    check_challenge(
        params.get("code_challenge"), params.get("code_challenge_method"), policy.pkce_methods
    )


def check_response_mode(params: Params, client: Client, policy: FapiPolicy) -> None:
    mode = params.get("response_mode")
    if mode is not None and mode not in policy.response_modes:
        raise InvalidRequestError("response_mode is not supported.")


def check_dpop_jkt(params: Params, client: Client, policy: FapiPolicy) -> None:
    jkt = params.get("dpop_jkt")
    if jkt is not None and not _JKT.fullmatch(jkt):
        raise InvalidRequestError("dpop_jkt must be a base64url SHA-256 JWK thumbprint.")


CHECKS: tuple[Check, ...] = (
    check_no_request_uri,
    check_client_id,
    check_response_type,
    check_redirect_uri,
    check_scope,
    check_pkce,
    check_response_mode,
    check_dpop_jkt,
)


def validate_authorization_request(
    params: Params,
    client: Client,
    policy: FapiPolicy,
    *,
    consents: ConsentGate,
    now: datetime,
    proof_jkt: str | None = None,
) -> AuthorizationRequest:
    """``proof_jkt``: the key of a DPoP proof sent with the pushed request, if any;
    ``consents`` and ``now`` decide whether a named open-banking consent may be authorised."""
    for check in CHECKS:
        check(params, client, policy)
    intent = read_intent(params, policy)
    if intent is not None:
        check_consent(intent, client.client_id, consents, now)
    dpop_jkt = params.get("dpop_jkt")
    # RFC 9449 §10.1: a proof at PAR binds the code like dpop_jkt; both must agree.
    if dpop_jkt is not None and proof_jkt is not None and dpop_jkt != proof_jkt:
        raise InvalidDPoPProofError("dpop_jkt does not match the DPoP proof's key.")
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=params["redirect_uri"],
        scopes=tuple(dict.fromkeys(params["scope"].split())),
        code_challenge=params["code_challenge"],
        code_challenge_method=params["code_challenge_method"],
        response_mode=params.get("response_mode", "query"),
        state=params.get("state"),
        nonce=params.get("nonce"),
        dpop_jkt=dpop_jkt or proof_jkt,
        consent_id=intent.consent_id if intent else None,
        intent_form=intent.form if intent else None,
        intent_claims=intent.claim_targets if intent else (),
        details_type=intent.details_type if intent else None,
        acr_values=required_acr(params, claims_parameter=policy.claims_parameter),
    )
