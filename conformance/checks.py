"""Embedded checks the OIDF suite runs inside most modules, and the error expectations.

Each check raises AssertionError with a message that names what was wanted and what
came back; a module that lets it escape is reported FAIL with that message.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import Counter
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from conformance.config import FAPI_ALGS
from tppkit import HttpResponse
from tppkit import Tpp
from tppkit import b64url

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
MIN_ENTROPY_BITS = 128
ONE_YEAR = 365 * 86400
CLOCK_SLACK = 5
BEARER = "Bearer"
# RFC 6749 §5.2 error_description: %x20-21 / %x23-5B / %x5D-7E (the CT also allows TAB, CR, LF).
_VSCHAR = re.compile(r"^[\x20-\x7e]+$")
_DESCRIPTION = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e\t\r\n]*$")


def fail(message: str) -> AssertionError:
    return AssertionError(message)


def entropy_bits(value: str) -> float:
    """The suite's estimate: Shannon entropy of the characters × length."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def check_entropy(value: str, what: str) -> None:
    bits = entropy_bits(value)
    if bits < MIN_ENTROPY_BITS or len(value) < 16:
        raise fail(f"{what} has ~{bits:.0f} bits of estimated entropy (< {MIN_ENTROPY_BITS})")
    # RFC 6749 Appendix A.12/A.17: tokens are VSCHAR (%x20-7E).
    if not _VSCHAR.match(value):
        raise fail(f"{what} has characters outside %x20-7E")


def json_body(response: HttpResponse) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise fail(f"HTTP {response.status}: body is not JSON: {response.text[:120]!r}") from None
    if not isinstance(body, dict):
        raise fail(f"HTTP {response.status}: JSON body is not an object")
    return body


def header(response: HttpResponse, name: str) -> str:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def check_json_type(response: HttpResponse, what: str) -> None:
    if not header(response, "Content-Type").startswith("application/json"):
        raise fail(f"{what}: Content-Type {header(response, 'Content-Type')!r}, wanted JSON")


def check_no_store(response: HttpResponse, what: str) -> None:
    if "no-store" not in header(response, "Cache-Control"):
        raise fail(f"{what}: Cache-Control {header(response, 'Cache-Control')!r} lacks no-store")


def check_par_created(response: HttpResponse) -> tuple[str, int]:
    """PAR 201 with request_uri (≥ 128 bits) and 5 ≤ expires_in < 600; returns both."""
    if response.status != 201:
        raise fail(f"PAR: HTTP {response.status}, wanted 201: {response.text[:200]}")
    check_json_type(response, "PAR")
    check_no_store(response, "PAR")
    body = json_body(response)
    request_uri, expires_in = body.get("request_uri"), body.get("expires_in")
    if not isinstance(request_uri, str) or not request_uri.startswith(REQUEST_URI_PREFIX):
        raise fail(f"PAR: request_uri {request_uri!r} is not a {REQUEST_URI_PREFIX}… URN")
    check_entropy(request_uri.removeprefix(REQUEST_URI_PREFIX), "request_uri")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 5 <= expires_in < 600:
        raise fail(f"PAR: expires_in {expires_in!r}, wanted an integer 5..599")
    return request_uri, expires_in


def check_token_response(response: HttpResponse, token_type: str = BEARER) -> dict[str, Any]:
    """200, JSON, no-store, ``token_type`` (DPoP when a proof bound the token, RFC 9449 §5),
    0 < expires_in ≤ 1 year, entropic tokens."""
    if response.status != 200:
        raise fail(f"token endpoint: HTTP {response.status}, wanted 200: {response.text[:200]}")
    check_json_type(response, "token endpoint")
    check_no_store(response, "token endpoint")
    body = json_body(response)
    access_token = body.get("access_token")
    if not isinstance(access_token, str):
        raise fail("token endpoint: no access_token")
    check_entropy(access_token, "access_token")
    # RFC 6749 §5.1 and RFC 9449 §5: token_type is case-insensitive.
    if str(body.get("token_type", "")).lower() != token_type.lower():
        raise fail(f"token endpoint: token_type {body.get('token_type')!r}, wanted {token_type}")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise fail(f"token endpoint: expires_in {expires_in!r} is not an integer")
    if not 0 < expires_in <= ONE_YEAR:
        raise fail(f"token endpoint: expires_in {expires_in} outside 1..{ONE_YEAR}")
    if "refresh_token" in body:
        check_entropy(str(body["refresh_token"]), "refresh_token")
    return body


def half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: left half of the hash the JWS alg uses."""
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode()).digest()
    return b64url(digest[: len(digest) // 2])


def verify_signed(token: str, keys: KeySet, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a server-signed JWT by its kid with a FAPI alg; returns (header, claims)."""
    try:
        jose_header = dict(extract_compact(token.encode()).headers())
    except (JoseError, ValueError) as exc:
        raise fail(f"{what} is not a compact JWS: {exc}") from None
    alg, kid = jose_header.get("alg"), jose_header.get("kid")
    if alg not in FAPI_ALGS:
        raise fail(f"{what} signed with {alg!r}, wanted one of {', '.join(FAPI_ALGS)}")
    if not isinstance(kid, str) or not kid:
        raise fail(f"{what} header has no kid")
    try:
        key = keys.get_by_kid(kid)
        claims = jwt.decode(token, key, algorithms=[alg]).claims
    except (JoseError, ValueError) as exc:
        raise fail(f"{what} signature does not verify with kid {kid}: {exc}") from None
    return jose_header, dict(claims)


def check_audience(aud: Any, client_id: str, what: str) -> None:
    if aud != client_id and not (isinstance(aud, list) and client_id in aud):
        raise fail(f"{what} aud {aud!r}, wanted {client_id!r}")


def check_time_claims(claims: dict[str, Any], what: str, max_lifetime: int | None = None) -> None:
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or exp <= now:
        raise fail(f"{what} exp {exp!r} missing or in the past")
    if max_lifetime is not None and exp > now + max_lifetime + CLOCK_SLACK:
        raise fail(f"{what} exp is {exp - now:.0f} s away (> {max_lifetime} s)")
    if iat is not None and (not isinstance(iat, int) or iat > now + CLOCK_SLACK):
        raise fail(f"{what} iat {iat!r} is in the future")


def check_id_token(
    id_token: Any, *, keys: KeySet, tpp: Tpp, access_token: str, nonce: str | None
) -> dict[str, Any]:
    """Signature by kid with a FAPI alg, iss/aud/exp/iat, at_hash, and the nonce round trip."""
    if not isinstance(id_token, str):
        raise fail("token endpoint: no id_token for an openid request")
    jose_header, claims = verify_signed(id_token, keys, "ID token")
    if claims.get("iss") != tpp.issuer:
        raise fail(f"ID token iss {claims.get('iss')!r}, wanted {tpp.issuer!r}")
    check_audience(claims.get("aud"), tpp.client_id, "ID token")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise fail("ID token has no sub")
    check_time_claims(claims, "ID token")
    if claims.get("at_hash") != half_hash(access_token, jose_header["alg"]):
        raise fail(f"ID token at_hash {claims.get('at_hash')!r} does not match the access token")
    if nonce is None and "nonce" in claims:
        raise fail("ID token carries a nonce although none was sent")
    if nonce is not None and claims.get("nonce") != nonce:
        raise fail(f"ID token nonce {str(claims.get('nonce'))[:20]!r}… differs from the one sent")
    return claims


def check_userinfo(response: HttpResponse, sub: str) -> None:
    """The protected resource answers 200 JSON with a Date header and the token's subject."""
    if response.status != 200:
        raise fail(f"userinfo: HTTP {response.status}, wanted 200: {response.text[:200]}")
    if not header(response, "Date"):
        raise fail("userinfo: no Date header")
    body = json_body(response)
    if body.get("sub") != sub:
        raise fail(f"userinfo sub {body.get('sub')!r}, wanted the ID token's {sub!r}")


def expect_error(response: HttpResponse, *errors: str, what: str = "") -> str:
    """A JSON OAuth error: HTTP 400 (401 allowed only for invalid_client) with one of ``errors``."""
    label = what or "endpoint"
    allowed = {400, 401} if "invalid_client" in errors else {400}
    if response.status not in allowed or not response.text.lstrip().startswith("{"):
        raise fail(
            f"{label}: HTTP {response.status} {response.text[:160]!r}, "
            f"wanted HTTP 400 with {' / '.join(errors)}"
        )
    check_json_type(response, label)
    body = json_body(response)
    error = body.get("error")
    if error not in errors:
        raise fail(f"{label}: error {error!r}, wanted {' / '.join(errors)}")
    if response.status == 401 and error != "invalid_client":
        raise fail(f"{label}: HTTP 401 with {error!r} (401 is only for invalid_client)")
    description = body.get("error_description", "")
    if not isinstance(description, str) or not _DESCRIPTION.match(description):
        raise fail(f"{label}: error_description has characters RFC 6749 forbids")
    return f"{label} HTTP {response.status} {error}"
