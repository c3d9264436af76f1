"""RFC 9101 request objects under FAPI 2.0 Message Signing §5.3.1 rules.

Only the parameters inside a verified request object count; every failure is
``invalid_request_object`` (never a generic error the client cannot act on).
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError

from authserver.checks.jwt_claims import audience_contains_issuer
from authserver.checks.jwt_claims import time_problem
from authserver.client_auth.errors import InvalidClientError
from authserver.client_auth.jwks import ClientKeyResolver
from authserver.clients.models import Client
from authserver.crypto.jose import FapiJWSRegistry
from authserver.errors import InvalidRequestError
from authserver.fapi import FapiPolicy
from authserver.par.errors import InvalidRequestObjectError

log = structlog.get_logger(__name__)

ACCEPTED_TYPES = (None, "oauth-authz-req+jwt", "JWT")
_JWT_CLAIMS = {"iss", "aud", "exp", "nbf", "iat", "jti", "sub"}
# OIDC Core §6.1 / RFC 9396 §3: JSON-valued parameters appear as JSON inside a request
# object; they are passed on as JSON text, exactly like their form-parameter spelling.
_JSON_PARAMETERS = ("claims", "authorization_details")


def _refuse(client: Client, detail: str) -> InvalidRequestObjectError:
    log.info("request_object_refused", client_id=client.client_id, error_detail=detail)
    return InvalidRequestObjectError()


def _verified_claims(
    token: str, client: Client, resolver: ClientKeyResolver, algs: list[str]
) -> Any:
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise _refuse(client, f"malformed: {type(exc).__name__}") from None
    # Message Signing §5.4: PS256, ES256 or EdDSA only; RS256 and none are refused.
    if header.get("alg") not in algs:
        raise _refuse(client, f"alg {header.get('alg')!r} not allowed")
    if header.get("typ") not in ACCEPTED_TYPES:
        raise _refuse(client, "typ not accepted")
    try:
        keys = resolver.key_set(client, header.get("kid"))
        return jwt.decode(token, keys, algorithms=algs, registry=FapiJWSRegistry(algs)).claims
    except (JoseError, ValueError, InvalidClientError) as exc:
        raise _refuse(client, f"signature: {type(exc).__name__}") from None


def decode_request_object(
    token: str,
    client: Client,
    *,
    resolver: ClientKeyResolver,
    policy: FapiPolicy,
    issuer: str,
    now: float,
) -> dict[str, str]:
    """Verify a request object and return the authorization parameters it carries."""
    claims = _verified_claims(token, client, resolver, list(policy.request_object_algs))
    # RFC 9101 §5: client_id inside must be the client; iss, when present, too.
    if claims.get("client_id") != client.client_id or claims.get("iss", client.client_id) != (
        client.client_id
    ):
        raise _refuse(client, "client_id/iss mismatch")
    # Message Signing §5.3.1: aud is the issuer or an array containing it.
    if not audience_contains_issuer(claims.get("aud"), issuer):
        raise _refuse(client, "aud")
    problem = time_problem(
        claims,
        now,
        skew=policy.clock_skew,
        required=("exp", "nbf"),
        max_lifetime=policy.request_object_max_lifetime,
        lifetime_start="nbf",
    )
    # Message Signing §5.3.1: nbf no longer than 60 minutes in the past.
    if problem is None and claims["nbf"] < now - policy.request_object_max_lifetime:
        problem = "nbf too far in the past"
    if problem:
        raise _refuse(client, problem)
    if "request" in claims or "request_uri" in claims:
        raise _refuse(client, "nested request or request_uri")
    # Non-string values are dropped below; a dropped dpop_jkt would silently unbind the code.
    if "dpop_jkt" in claims and not isinstance(claims["dpop_jkt"], str):
        raise InvalidRequestError("dpop_jkt must be a base64url SHA-256 JWK thumbprint.")
    params = {k: v for k, v in claims.items() if isinstance(v, str) and k not in _JWT_CLAIMS}
    # Dropping these would silently unbind the consent; the intent check judges their shape.
    for name in _JSON_PARAMETERS:
        if name in claims and not isinstance(claims[name], str):
            params[name] = json.dumps(claims[name])
    return params
