"""The DPoP proof validator (RFC 9449 §4.3), in the RFC's order, used by every endpoint.

``htu`` is compared with the configured public base URL plus the request path, never
the URL Flask sees behind a proxy; both sides are normalised per RFC 3986 §6.2.2-6.2.3
and the query and fragment are ignored. Extra claims and headers are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from joserfc import jwk
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError

from authserver.clock import Clock
from authserver.crypto.jose import FapiJWSRegistry
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.errors import UseDPoPNonceError
from authserver.dpop.nonce import NonceService
from authserver.dpop.thumbprint import jwk_thumbprint
from authserver.store.base import Store

log = structlog.get_logger(__name__)

PROOF_TYPE = "dpop+jwt"
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REQUIRED = ("jti", "htm", "htu", "iat")


@dataclass(frozen=True)
class DPoPProof:
    jkt: str
    jti: str
    claims: dict[str, Any]


def normalize_htu(url: str) -> str | None:
    """Scheme and host lower-cased, default port dropped, query and fragment removed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    netloc = parts.hostname.lower()
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def access_token_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class DPoPValidator:
    def __init__(
        self,
        *,
        public_base_url: str,
        store: Store,
        clock: Clock,
        nonces: NonceService,
        algs: Sequence[str],
        skew: int,
        past_window: int,
    ) -> None:
        self._base = public_base_url.rstrip("/")
        self._store = store
        self._clock = clock
        self.nonces = nonces
        self.algs = list(algs)
        self._registry = FapiJWSRegistry(self.algs)
        self._skew = skew
        self._past_window = past_window

    def validate(
        self,
        header_values: Sequence[str],
        method: str,
        path: str,
        *,
        access_token: str | None = None,
        require_nonce: bool = False,
    ) -> DPoPProof:
        """Check one request's proof; InvalidDPoPProofError or UseDPoPNonceError otherwise."""
        # RFC 9449 §4.3 (1): exactly one DPoP header.
        if len(header_values) != 1:
            raise _refuse("not exactly one DPoP header")
        header, claims = self._verified(header_values[0])
        self._check_request(claims, method, path, access_token)
        with_nonce = self._check_nonce(claims, require_nonce)
        window = self.nonces.lifetime if with_nonce else self._past_window
        if not with_nonce:
            self._check_iat(claims["iat"])
        jkt = jwk_thumbprint(header["jwk"])
        # RFC 9449 §11.1: a proof is single use for the whole accept window.
        if not self._store.first_use(f"dpop_jti:{jkt}:{claims['jti']}", window + self._skew):
            raise _refuse("proof replayed")
        return DPoPProof(jkt=jkt, jti=str(claims["jti"]), claims=claims)

    def _verified(self, proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            header = dict(jws.extract_compact(proof.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeEncodeError):
            raise _refuse("malformed proof") from None
        if header.get("typ") != PROOF_TYPE:
            raise _refuse("typ is not dpop+jwt")
        if header.get("alg") not in self.algs:
            raise _refuse(f"alg {header.get('alg')!r} not allowed")
        public = header.get("jwk")
        if not isinstance(public, dict) or _PRIVATE_MEMBERS & public.keys():
            raise _refuse("jwk missing or not a public key")
        try:
            key = jwk.import_key(public)
            token = jwt.decode(proof, key, algorithms=self.algs, registry=self._registry)
            jwk_thumbprint(public)
        except (JoseError, ValueError, TypeError):
            raise _refuse("signature does not verify with jwk") from None
        claims = dict(token.claims)
        if any(name not in claims for name in _REQUIRED) or not isinstance(claims["jti"], str):
            raise _refuse("a required claim is missing")
        if isinstance(claims["iat"], bool) or not isinstance(claims["iat"], int | float):
            raise _refuse("iat is not a number")
        return header, claims

    def _check_request(
        self, claims: dict[str, Any], method: str, path: str, access_token: str | None
    ) -> None:
        if claims["htm"] != method:
            raise _refuse("htm does not match the method")
        expected = normalize_htu(self._base + path)
        if not isinstance(claims["htu"], str) or normalize_htu(claims["htu"]) != expected:
            raise _refuse("htu does not match the request URL")
        if access_token is not None:
            ath = claims.get("ath")
            expected_ath = access_token_hash(access_token)
            if not isinstance(ath, str) or not hmac.compare_digest(ath, expected_ath):
                raise _refuse("ath does not match the access token")

    def _check_nonce(self, claims: dict[str, Any], required: bool) -> bool:
        if "nonce" not in claims and not required:
            return False
        if not self.nonces.is_valid(claims.get("nonce")):
            raise UseDPoPNonceError(self.nonces.current())
        return True

    def _check_iat(self, iat: float) -> None:
        now = self._clock.time()
        # FAPI 2.0 SP 5.3.2.1-13: up to the skew ahead; RFC 9449 §11.1: a bounded past.
        if iat > now + self._skew or iat < now - self._past_window:
            raise _refuse("iat outside the acceptance window")


def _refuse(detail: str) -> InvalidDPoPProofError:
    log.info("dpop_proof_refused", error_detail=detail)
    return InvalidDPoPProofError()
