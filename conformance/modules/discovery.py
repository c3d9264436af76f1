"""#1 discovery-end-point-verification: metadata (RFC 8414 / OIDC Discovery) and the JWKS."""

from __future__ import annotations

from typing import Any

from conformance.checks import check_json_type
from conformance.checks import fail
from conformance.checks import json_body
from conformance.config import FAPI_ALGS
from conformance.context import Context
from conformance.runner import Module

WELL_KNOWN = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
FAPI_AUTH_METHODS = {"private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
ALG_LISTS = (
    "token_endpoint_auth_signing_alg_values_supported",
    "request_object_signing_alg_values_supported",
    "id_token_signing_alg_values_supported",
    "authorization_signing_alg_values_supported",
)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}
EC_BITS = {"P-256": 256, "P-384": 384, "P-521": 521}


def fetch_metadata(ctx: Context, path: str) -> dict[str, Any]:
    response = ctx.transport().request("GET", ctx.url(path))
    if response.status != 200:
        raise fail(f"GET {path}: HTTP {response.status}")
    check_json_type(response, path)
    return json_body(response)


def required_problems(meta: dict[str, Any], issuer: str) -> list[str]:
    """RFC 8414 / OIDC Discovery fields and the FAPI 2.0 values they must carry (M3/M4)."""
    checks = [
        (meta.get("issuer") == issuer, f"issuer {meta.get('issuer')!r} is not {issuer!r}"),
        (meta.get("response_types_supported") == ["code"], "response_types_supported != [code]"),
        (bool(meta.get("pushed_authorization_request_endpoint")), "no PAR endpoint"),
        (meta.get("require_pushed_authorization_requests") is True, "PAR not required"),
        (meta.get("code_challenge_methods_supported") == ["S256"], "PKCE methods != [S256]"),
        (
            meta.get("authorization_response_iss_parameter_supported") is True,
            "authorization_response_iss_parameter_supported is not true",
        ),
        ("openid" in meta.get("scopes_supported", []), "scopes_supported lacks openid"),
        ("jwt" in meta.get("response_modes_supported", []), "response_modes_supported lacks jwt"),
        (
            "authorization_code" in meta.get("grant_types_supported", []),
            "grant_types_supported lacks authorization_code",
        ),
    ]
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "subject_types_supported"):
        checks.append((bool(meta.get(name)), f"{name} missing"))
    return [message for ok, message in checks if not ok]


def algorithm_problems(meta: dict[str, Any]) -> list[str]:
    """Client authentication and every advertised JWS alg list: FAPI values only."""
    problems = []
    methods = meta.get("token_endpoint_auth_methods_supported")
    if not (isinstance(methods, list) and methods and set(methods) <= FAPI_AUTH_METHODS):
        problems.append(f"token_endpoint_auth_methods_supported {methods!r} is not FAPI-only")
    for name in (*ALG_LISTS, "userinfo_signing_alg_values_supported"):
        algs = meta.get(name)
        if algs is None and name not in ALG_LISTS:
            continue
        if not (isinstance(algs, list) and algs and set(algs) <= set(FAPI_ALGS)):
            problems.append(f"{name} {algs!r} is not a non-empty list of FAPI algs")
    return problems


def key_problems(key: dict[str, Any]) -> list[str]:
    kid = key.get("kid", "?")
    problems = []
    if PRIVATE_MEMBERS & key.keys():
        problems.append(f"key {kid} publishes private members")
    if key.get("kty") == "RSA":
        bits = (len(key.get("n", "")) * 6) // 8 * 8
        if bits < 2048:
            problems.append(f"RSA key {kid} has ~{bits} bits (< 2048)")
    elif key.get("kty") == "EC" and EC_BITS.get(key.get("crv", ""), 0) < 224:
        problems.append(f"EC key {kid} on {key.get('crv')!r} (< 224 bits)")
    return problems


def jwks_problems(ctx: Context, jwks_uri: str) -> list[str]:
    response = ctx.transport().request("GET", jwks_uri)
    if response.status != 200:
        return [f"jwks_uri: HTTP {response.status}"]
    keys = json_body(response).get("keys", [])
    kids = [key.get("kid") for key in keys]
    problems = [] if keys else ["JWKS is empty"]
    if not all(isinstance(kid, str) and kid for kid in kids):
        problems.append("a server key has no kid")
    if len(set(kids)) != len(kids):
        problems.append("server kids repeat")
    return problems + [problem for key in keys for problem in key_problems(key)]


def discovery(ctx: Context) -> str:
    oidc, oauth = (fetch_metadata(ctx, path) for path in WELL_KNOWN)
    problems = required_problems(oidc, ctx.issuer) + algorithm_problems(oidc)
    if oauth.get("issuer") != oidc.get("issuer"):
        problems.append("RFC 8414 and OIDC documents name different issuers")
    problems += jwks_problems(ctx, str(oidc.get("jwks_uri", ctx.url("/jwks"))))
    if problems:
        raise fail("; ".join(problems))
    return "metadata (both well-known paths) and JWKS as FAPI 2.0 requires"


MODULES = [Module(1, "discovery-end-point-verification", discovery)]
