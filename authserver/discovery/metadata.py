"""The metadata builder; each feature adds its entries here as it lands (RFC 8414, OIDC §3)."""

from __future__ import annotations

from typing import Any

from authserver.clients.service import INTROSPECTION_ALGS
from authserver.fapi import FapiPolicy
from authserver.scopes import SCOPES
from authserver.settings import Settings
from authserver.tokens.access_token import ACR_PASSWORD
from authserver.tokens.access_token import ID_TOKEN_ALG


def build_metadata(settings: Settings, policy: FapiPolicy) -> dict[str, Any]:
    issuer = settings.issuer
    algs = list(policy.signing_algs)
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": True,
        "jwks_uri": f"{issuer}/jwks",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "scopes_supported": list(SCOPES),
        "response_types_supported": list(policy.response_types),
        "response_modes_supported": list(policy.response_modes),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": list(policy.pkce_methods),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        # RFC 7009 and RFC 7662: same client authentication as the token endpoint.
        "revocation_endpoint": f"{issuer}/revoke",
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint": f"{issuer}/introspect",
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        # RFC 9701 §7: FAPI algorithms only.
        "introspection_signing_alg_values_supported": list(INTROSPECTION_ALGS),
        "request_object_signing_alg_values_supported": algs,
        "require_signed_request_object": False,
        "authorization_signing_alg_values_supported": ["PS256", "ES256"],
        "authorization_response_iss_parameter_supported": True,
        # RFC 9449 §5.1: the proof algorithms the token endpoint and PAR accept.
        "dpop_signing_alg_values_supported": algs,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "acr",
        ],
        "acr_values_supported": [ACR_PASSWORD],
    }
