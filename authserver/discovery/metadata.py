"""The metadata builder (RFC 8414, OIDC Discovery §3), generated rather than hand-written.

Every ``*_supported`` value comes from the rule that enforces it: ``FapiPolicy`` for the
profile's choices, ``tokens.registry`` for the grants ``/token`` serves, the scope table
and the ID-token builder for OpenID. One function per feature adds that feature's
entries, so a feature that is switched off simply contributes nothing.
``tests/discovery/test_advertised_values.py`` exercises every value the result lists.
"""

from __future__ import annotations

from typing import Any

from authserver.checks.acr import ACR_VALUES
from authserver.fapi import FapiPolicy
from authserver.scopes import SCOPES
from authserver.settings import Settings
from authserver.tokens.access_token import ID_TOKEN_CLAIMS
from authserver.tokens.registry import supported_grant_types

Metadata = dict[str, Any]


def _client_auth(endpoint: str, policy: FapiPolicy) -> Metadata:
    """RFC 8414 §2: how clients authenticate at ``endpoint`` (the same rule everywhere)."""
    return {
        f"{endpoint}_endpoint_auth_methods_supported": list(policy.client_auth_methods),
        f"{endpoint}_endpoint_auth_signing_alg_values_supported": list(policy.client_auth_algs),
    }


def _authorization(issuer: str, policy: FapiPolicy) -> Metadata:
    """PAR (RFC 9126), JAR (RFC 9101), PKCE, response modes with JARM and RFC 9207."""
    return {
        "authorization_endpoint": f"{issuer}/authorize",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": policy.require_par,
        "response_types_supported": list(policy.response_types),
        "response_modes_supported": list(policy.response_modes),
        "code_challenge_methods_supported": list(policy.pkce_methods),
        "request_object_signing_alg_values_supported": list(policy.request_object_algs),
        "require_signed_request_object": policy.require_signed_request_object,
        "authorization_signing_alg_values_supported": list(policy.jarm_algs),
        # RFC 9207 §3: iss is in every authorization response (query and JARM alike).
        "authorization_response_iss_parameter_supported": True,
        # RFC 9396 §10: the types PAR accepts (checks/intent.py asks the same policy).
        "authorization_details_types_supported": list(policy.authorization_details_types),
    }


def _token(issuer: str, policy: FapiPolicy) -> Metadata:
    return {
        "token_endpoint": f"{issuer}/token",
        "grant_types_supported": list(supported_grant_types(policy)),
        **_client_auth("token", policy),
    }


def _revocation_and_introspection(issuer: str, policy: FapiPolicy) -> Metadata:
    # RFC 7009 and RFC 7662: same client authentication as the token endpoint.
    return {
        "revocation_endpoint": f"{issuer}/revoke",
        **_client_auth("revocation", policy),
        "introspection_endpoint": f"{issuer}/introspect",
        **_client_auth("introspection", policy),
        # RFC 9701 §7: FAPI algorithms only.
        "introspection_signing_alg_values_supported": list(policy.introspection_algs),
    }


def _dpop(policy: FapiPolicy) -> Metadata:
    # RFC 9449 §5.1: the proof algorithms the token endpoint and PAR accept.
    return {"dpop_signing_alg_values_supported": list(policy.dpop_algs)}


def _openid(issuer: str, policy: FapiPolicy) -> Metadata:
    """OIDC Discovery §3: ID tokens, userinfo and the scopes a consent screen can show."""
    return {
        "userinfo_endpoint": f"{issuer}/userinfo",
        "scopes_supported": list(SCOPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [policy.id_token_signing_alg],
        "claims_supported": list(ID_TOKEN_CLAIMS),
        # OIDC Core §5.5: read for UK Open Banking's openbanking_intent_id.
        "claims_parameter_supported": policy.claims_parameter,
        "acr_values_supported": list(ACR_VALUES),
    }


def build_metadata(settings: Settings, policy: FapiPolicy) -> Metadata:
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
        **_authorization(issuer, policy),
        **_token(issuer, policy),
        **_revocation_and_introspection(issuer, policy),
        **_dpop(policy),
        **_openid(issuer, policy),
    }
