"""The DPoP proof validator (RFC 9449 §4.3), in the RFC's order, used by every endpoint.

``htu`` is compared with the configured public base URL plus the request path, never
the URL Flask sees behind a proxy; both sides are normalised per RFC 3986 §6.2.2-6.2.3
and the query and fragment are ignored. Extra claims and headers are ignored.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from joserfc import jwk
from joserfc import jws
from joserfc.errors import JoseError

from authserver.clock import Clock
from authserver.crypto.jose import FapiJWSRegistry
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.errors import UseDPoPNonceError
from authserver.dpop.nonce import NonceService
from authserver.dpop.thumbprint import jwk_thumbprint
from authserver.store.replay import ReplayEpoch

log = structlog.get_logger(__name__)

PROOF_TYPE = "dpop+jwt"
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REQUIRED = ("jti", "htm", "htu", "iat")
MIN_RSA_BITS = 2048
KEY_CACHE_SIZE = 1024
"""Imported proof keys kept per process (a client signs proof after proof with one key)."""


class _ProofRegistry(FapiJWSRegistry):
    """The FAPI algorithms, sized and relaxed for proofs that carry their own key.

    joserfc caps the header at 512 bytes, less than a header holding an RSA-2048 ``jwk``
    (PS256), and refuses header parameters it does not know; RFC 9449 §4.2 says ignore them.
    """

    max_header_length = 4096

    def __init__(self, algorithms: Sequence[str]) -> None:
        super().__init__(algorithms)
        self.strict_check_header = False


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
    # RFC 9110 §4.2.4: userinfo in an http(s) URI is an error, and normalising keeps it.
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
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
        clock: Clock,
        nonces: NonceService,
        algs: Sequence[str],
        skew: int,
        past_window: int,
        replay_epoch: ReplayEpoch,
    ) -> None:
        self._base = public_base_url.rstrip("/")
        self._clock = clock
        self.nonces = nonces
        self.algs = list(algs)
        self._registry = _ProofRegistry(self.algs)
        self._skew = skew
        self._past_window = past_window
        self._epoch = replay_epoch

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
        claims, jkt = self._verified(header_values[0])
        self._check_request(claims, method, path, access_token)
        with_nonce = self._check_nonce(claims, require_nonce)
        window = self.nonces.lifetime if with_nonce else self._past_window
        self._check_iat(claims["iat"], bounded_past=not with_nonce)
        # RFC 9449 §11.1: a proof is single use for the whole accept window. The window is
        # closed at both ends while a store entry is gone at its ttl, hence the extra second.
        ttl = window + self._skew + 1
        # The epoch is read after the jti is spent: a proof older than the replay state
        # may have been used (F5).
        refused = self._epoch.spend(f"dpop_jti:{jkt}:{claims['jti']}", ttl, float(claims["iat"]))
        if refused == "replayed":
            raise _refuse("proof replayed")
        if refused is not None:
            raise _refuse("proof issued before the store's replay state began")
        return DPoPProof(jkt=jkt, jti=str(claims["jti"]), claims=claims)

    def _verified(self, proof: str) -> tuple[dict[str, Any], str]:
        """The proof's claims and its key's thumbprint, once the signature verified.

        The proof is parsed once: the extracted object is verified (what ``jwt.decode``
        would do after parsing it again) and its payload read as the claims."""
        try:
            compact = jws.extract_compact(proof.encode("ascii"), registry=self._registry)
            header = dict(compact.headers())
        except (JoseError, ValueError, UnicodeEncodeError):
            raise _refuse("malformed proof") from None
        if header.get("typ") != PROOF_TYPE:
            raise _refuse("typ is not dpop+jwt")
        if header.get("alg") not in self.algs:
            raise _refuse(f"alg {header.get('alg')!r} not allowed")
        public = header.get("jwk")
        if not isinstance(public, dict) or _PRIVATE_MEMBERS & public.keys():
            raise _refuse("jwk missing or not a public key")
        # FAPI 2.0 SP 5.4.1: RSA keys of at least 2048 bits (checked before joserfc imports it).
        if public.get("kty") == "RSA" and _rsa_bits(public.get("n")) < MIN_RSA_BITS:
            raise _refuse("RSA key shorter than 2048 bits")
        try:
            key, jkt = _imported(json.dumps(public, sort_keys=True, separators=(",", ":")))
            verified = jws.validate_compact(compact, key, self.algs, self._registry)
            claims = json.loads(compact.payload) if verified else None
        except (JoseError, ValueError, TypeError, KeyError):  # KeyError: joserfc, unknown crv
            raise _refuse("signature does not verify with jwk") from None
        if not isinstance(claims, dict):  # a bad signature, or a payload that is no object
            raise _refuse("signature does not verify with jwk")
        if any(name not in claims for name in _REQUIRED) or not _is_text(claims["jti"]):
            raise _refuse("a required claim is missing")
        if not _is_time(claims["iat"]):
            raise _refuse("iat is not a number")
        return claims, jkt

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
            # compare_digest raises on non-ASCII str; neither a hash nor a token of ours is.
            if (
                not isinstance(ath, str)
                or not (ath.isascii() and access_token.isascii())
                or not hmac.compare_digest(ath, access_token_hash(access_token))
            ):
                raise _refuse("ath does not match the access token")

    def _check_nonce(self, claims: dict[str, Any], required: bool) -> bool:
        if "nonce" not in claims and not required:
            return False
        if not self.nonces.is_valid(claims.get("nonce")):
            raise UseDPoPNonceError(self.nonces.current())
        return True

    def _check_iat(self, iat: float, *, bounded_past: bool) -> None:
        """With a valid server nonce the nonce bounds the past (RFC 9449 §11.1), not iat."""
        now = self._clock.time()
        # FAPI 2.0 SP 5.3.2.1-13 (every JWT, nonce or not): up to the skew ahead.
        if iat > now + self._skew:
            raise _refuse("iat is too far in the future")
        # RFC 9449 §11.1: a bounded past.
        if bounded_past and iat < now - self._past_window:
            raise _refuse("iat is too old")


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _imported(canonical_jwk: str) -> tuple[jwk.Key, str]:
    """A proof's public key imported, with its thumbprint, by the key's canonical JSON.

    Importing a key and hashing its thumbprint (twice, before) were a real share of a
    proof's validation, repeated for every proof a client signs with the same key. The
    cache is keyed by the whole public JWK, so a hit is exactly that key; a key that
    fails to import raises and is not kept."""
    public = json.loads(canonical_jwk)
    return jwk.import_key(public), jwk_thumbprint(public)


def _rsa_bits(modulus: object) -> int:
    if not isinstance(modulus, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except (ValueError, binascii.Error):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def _is_text(value: object) -> bool:
    """A non-empty string the store can hold (JSON allows lone surrogates; UTF-8 cannot)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_time(value: object) -> bool:
    """A finite NumericDate: JSON also yields NaN, which compares false with every bound."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _refuse(detail: str) -> InvalidDPoPProofError:
    log.info("dpop_proof_refused", error_detail=detail)
    return InvalidDPoPProofError()
