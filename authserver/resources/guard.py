"""``require_token(scopes)``: the one access-token check every protected endpoint uses.

Validates an RFC 9068 JWT locally against the published keys (``AccessTokenVerifier``:
the JWKS, never a private key): typ at+jwt, issuer,
audience, expiry, scope, and the revocation deny-set (fail closed if the store is
unreachable). Then the sender constraint (RFC 9449 §7): ``Authorization: DPoP <token>``
needs a DPoP-bound token (``cnf.jkt``) and a proof by that key for this request;
``Bearer <token>`` is accepted only for unbound tokens, and only while
``FapiPolicy.allow_bearer_tokens`` is on (setting ``oauth.allow_bearer_tokens``). The
proof validator's 400 errors become the resource server's 401s here; a store outage
(replay or revocation check) stays a 503.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from typing import ParamSpec
from typing import TypeVar

import structlog
from flask import Response
from flask import after_this_request
from flask import g
from flask import request

from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.errors import UseDPoPNonceError
from authserver.resources.context import ResourceServices
from authserver.resources.context import resource_services
from authserver.resources.errors import Challenge
from authserver.resources.errors import InsufficientScopeError
from authserver.resources.errors import InvalidProofError
from authserver.resources.errors import InvalidTokenError
from authserver.resources.errors import MissingTokenError
from authserver.resources.errors import NonceRequiredError
from authserver.resources.errors import ResourceServerError

log = structlog.get_logger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
BEARER = "bearer"
DPOP = "dpop"
# RFC 7235 §2.1: credentials = auth-scheme 1*SP token68 (the scheme is case-insensitive).
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z]+) +(?P<token>[A-Za-z0-9\-._~+/]+=*)")


@dataclass(frozen=True)
class Credentials:
    scheme: str
    """``bearer`` or ``dpop``, lower-cased."""
    token: str


def _refused(detail: str, description: str | None = None) -> InvalidTokenError:
    log.info("access_token_refused", error_detail=detail)
    return InvalidTokenError(description)


def _credentials() -> Credentials:
    # RFC 6750 §2.2-2.3 are not offered (FAPI 2.0 SP 5.3.4): only the Authorization header.
    if "access_token" in request.args or "access_token" in request.form:
        raise _refused(
            "token outside the Authorization header",
            "Access tokens are accepted only in the Authorization header.",
        )
    header = request.headers.get("Authorization")
    if header is None:
        raise MissingTokenError()
    scheme = header.partition(" ")[0].lower()
    if scheme not in (BEARER, DPOP):
        # RFC 6750 §3.1: an unsupported scheme counts as no credentials (no error code).
        raise MissingTokenError()
    # Repeated Authorization fields arrive joined by ", " (RFC 9110 §5.3: WSGI servers and
    # Werkzeug join them), which no token68 contains: a second header fails this match.
    match = _CREDENTIALS.fullmatch(header.strip())
    if match is None:
        raise _refused("malformed or repeated Authorization header")
    return Credentials(scheme, match["token"])


def validate_access_token(token: str) -> dict[str, Any]:
    """The claims of a valid, unrevoked access token of ours; its binding is not checked here."""
    claims = resource_services().verifier.live(token)
    if claims is None:
        raise InvalidTokenError()
    return claims


def _bound_jkt(claims: dict[str, Any]) -> str | None:
    """RFC 9449 §6.1 ``cnf.jkt``; None for an unbound token. A ``cnf`` this resource
    cannot check (no ``jkt``, e.g. an mTLS ``x5t#S256``) refuses the token."""
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or not jkt:
        raise _refused("cnf without jkt")
    return jkt


def _proof_headers() -> list[str]:
    # A compact JWS never contains a comma: a comma means several DPoP fields that the
    # server joined, so split them back for RFC 9449 §4.3's "exactly one DPoP header".
    return [part.strip() for value in request.headers.getlist("DPoP") for part in value.split(",")]


def _check_proof(svc: ResourceServices, token: str, jkt: str) -> None:
    """RFC 9449 §7.1: a valid proof for this request, with ``ath`` of this token, signed by
    the key the token is bound to. The validator's 400s become 401s here."""
    try:
        proof = svc.dpop.validate(
            _proof_headers(),
            request.method,
            request.path,
            access_token=token,
            require_nonce=svc.policy.dpop_nonce_required,
        )
    except UseDPoPNonceError as exc:
        raise NonceRequiredError(exc.nonce) from None
    except InvalidDPoPProofError:
        raise InvalidProofError() from None
    # RFC 9449 §4.3 step 12: the proof's key is the one the token is bound to.
    if not hmac.compare_digest(proof.jkt.encode(), jkt.encode()):
        raise _refused("proof key is not the token's cnf.jkt")


def _sender_constrained_claims(svc: ResourceServices, credentials: Credentials) -> dict[str, Any]:
    claims = validate_access_token(credentials.token)
    jkt = _bound_jkt(claims)
    if credentials.scheme == DPOP:
        if jkt is None:
            raise _refused("DPoP scheme with an unbound token")
        _check_proof(svc, credentials.token, jkt)
    elif jkt is not None:
        # RFC 9449 §7.2: a DPoP-bound token presented as Bearer is a downgrade.
        raise _refused("DPoP-bound token presented as Bearer")
    elif not svc.policy.allow_bearer_tokens:
        raise _refused("Bearer tokens are switched off")
    return claims


def _offer_nonce(response: Response) -> Response:
    # RFC 9449 §8.2: a fresh nonce may ride on any response, so clients rarely meet a 401;
    # a use_dpop_nonce error has set it already (exactly one header).
    if "DPoP-Nonce" not in response.headers:
        response.headers["DPoP-Nonce"] = resource_services().dpop.nonces.current()
    return response


def authenticate(scopes: Collection[str]) -> dict[str, Any]:
    """The request's access-token claims, or a ResourceServerError with its challenges."""
    svc = resource_services()
    policy = svc.policy
    if policy.dpop_nonce_required:
        after_this_request(_offer_nonce)
    try:
        claims = _sender_constrained_claims(svc, _credentials())
        granted = set(str(claims.get("scope", "")).split())
        if not set(scopes) <= granted:
            raise InsufficientScopeError()
    except ResourceServerError as exc:
        # Bearer is offered while allowed, unless the client already speaks DPoP.
        used_dpop = request.headers.get("Authorization", "").partition(" ")[0].lower() == DPOP
        bearer = policy.allow_bearer_tokens and not used_dpop
        exc.challenge = Challenge(tuple(svc.dpop.algs), bearer=bearer)
        raise
    return claims


def require_token(*scopes: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            g.token_claims = authenticate(scopes)
            return view(*args, **kwargs)

        return wrapper

    return decorator
