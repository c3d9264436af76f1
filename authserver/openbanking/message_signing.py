"""``x-jws-signature`` (API-5; UK OB Read/Write API v4.0 "Message Signing").

A request body is signed by the TPP, a response body by us, as a *detached* JWS (RFC 7515
Appendix F: ``header..signature``, the payload being the exact HTTP body). Since v3.1.4 the
standard uses the ordinary base64url-encoded signing input: the RFC 7797 ``b64`` header is
no longer used, so a signature carrying one is refused.

The protected header: ``alg`` (PS256 or ES256 only), ``kid`` (a key of the client's
registered JWKS), ``typ`` ``JOSE`` and ``cty`` ``application/json`` when present, and the
three critical claims ``http://openbanking.org.uk/iat`` (a number: the signing time),
``http://openbanking.org.uk/iss`` (here, the client id) and ``http://openbanking.org.uk/tan``
(the trust anchor we are configured with), named exactly by ``crit``.

Failures are 400s with the standard's codes: ``U019`` missing, ``U018`` malformed (not a
detached compact JWS), ``U017`` a required claim missing (``crit`` included), ``U016`` a
claim with a wrong value (``alg``, ``iss``, ``tan``, an ``iat`` too old or in the future, an
unknown ``kid``), ``U015`` the signature does not verify over this body. Every claim problem
is listed together; the signature is checked only when the header is right. All JOSE work
is joserfc's: nothing here encodes or verifies by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from typing import Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import Key
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter

from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import bad_request

HEADER = "x-jws-signature"
OB_IAT = "http://openbanking.org.uk/iat"
OB_ISS = "http://openbanking.org.uk/iss"
OB_TAN = "http://openbanking.org.uk/tan"
CRITICAL = (OB_IAT, OB_ISS, OB_TAN)
ALGORITHMS = ("PS256", "ES256")
CONTENT_TYPES = ("application/json", "json")

SIGNATURE_INVALID = "U015"  # UK.OBIE.Signature.Invalid
SIGNATURE_INVALID_CLAIM = "U016"  # UK.OBIE.Signature.InvalidClaim
SIGNATURE_MISSING_CLAIM = "U017"  # UK.OBIE.Signature.MissingClaim
SIGNATURE_MALFORMED = "U018"  # UK.OBIE.Signature.Malformed
SIGNATURE_MISSING = "U019"  # UK.OBIE.Signature.Missing


def _is_number(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")


def _registry() -> JWSRegistry:
    registry = JWSRegistry(
        header_registry={
            OB_IAT: HeaderParameter("Signing time", _is_number),
            OB_ISS: HeaderParameter("Signer", "str"),
            OB_TAN: HeaderParameter("Trust anchor", "str"),
        },
        algorithms=list(ALGORITHMS),
        # RFC 7515 §4: header parameters a recipient does not understand are ignored unless
        # named in crit (and crit is checked here against exactly the standard's three).
        strict_check_header=False,
    )
    # joserfc's default bound (512 bytes) is too tight for the standard's header: three URL
    # claim names twice over, a thumbprint kid and a directory-length iss.
    registry.max_header_length = 4096
    return registry


REGISTRY = _registry()


class ResponseSigner(Protocol):
    """The server's signing key, as the caller (the key ring) hands it over."""

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> str: ...

    @property
    def private_key(self) -> RSAKey | ECKey: ...


def _error(code: str, message: str, path: str = HEADER) -> OBError:
    return OBError(code, message, path)


def verify_request_signature(
    header_value: str | None,
    body: bytes,
    *,
    client_jwks: KeySet,
    client_id: str,
    trust_anchor: str,
    now: float,
    max_age: float,
    skew: float = 30.0,
) -> None:
    """Accept ``header_value`` as the client's detached JWS over ``body``, or raise 400.

    ``now`` is seconds since the epoch; ``iat`` may be up to ``max_age`` seconds old and
    ``skew`` seconds ahead (the client's clock may run fast)."""
    if not header_value:
        raise bad_request(_error(SIGNATURE_MISSING, "The x-jws-signature header is required."))
    parts = header_value.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise bad_request(
            _error(SIGNATURE_MALFORMED, "Must be a detached JWS (header..signature).")
        )
    try:
        signed = jws.extract_compact(header_value.encode("ascii"), payload=body, registry=REGISTRY)
    except (JoseError, ValueError):  # ValueError covers non-ASCII and undecodable segments
        raise bad_request(_error(SIGNATURE_MALFORMED, "The JWS cannot be parsed.")) from None
    header = signed.headers()
    problems = list(_claim_problems(header, client_id, trust_anchor, now, max_age, skew))
    key = _client_key(client_jwks, header) if not problems else None
    if key is None:
        problems = problems or [_error(SIGNATURE_INVALID_CLAIM, "Unknown or unusable kid.", "kid")]
        raise bad_request(*problems)
    try:
        valid = jws.validate_compact(signed, key, registry=REGISTRY)
    except JoseError:
        valid = False
    if not valid:
        raise bad_request(_error(SIGNATURE_INVALID, "The signature does not verify."))


def _claim_problems(
    header: dict[str, Any], client_id: str, anchor: str, now: float, max_age: float, skew: float
) -> Iterable[OBError]:
    if header.get("alg") not in ALGORITHMS:
        yield _error(SIGNATURE_INVALID_CLAIM, "alg must be PS256 or ES256.", "alg")
    if "b64" in header:
        yield _error(SIGNATURE_INVALID_CLAIM, "b64 is not used since v3.1.4.", "b64")
    if "typ" in header and header["typ"] != "JOSE":
        yield _error(SIGNATURE_INVALID_CLAIM, "typ must be JOSE.", "typ")
    if "cty" in header and header["cty"] not in CONTENT_TYPES:
        yield _error(SIGNATURE_INVALID_CLAIM, "cty must be application/json.", "cty")
    for name in ("kid", *CRITICAL, "crit"):
        if name not in header:
            yield _error(SIGNATURE_MISSING_CLAIM, "A required claim is missing.", name)
    yield from _crit_problems(header)
    if "kid" in header and not isinstance(header["kid"], str):
        yield _error(SIGNATURE_INVALID_CLAIM, "kid must be a string.", "kid")
    if OB_IAT in header:
        iat = header[OB_IAT]
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            yield _error(SIGNATURE_INVALID_CLAIM, "iat must be a number.", OB_IAT)
        elif iat < now - max_age or iat > now + skew:
            yield _error(SIGNATURE_INVALID_CLAIM, "iat is too old or in the future.", OB_IAT)
    if OB_ISS in header and header[OB_ISS] != client_id:
        yield _error(SIGNATURE_INVALID_CLAIM, "iss must be the client.", OB_ISS)
    if OB_TAN in header and header[OB_TAN] != anchor:
        yield _error(SIGNATURE_INVALID_CLAIM, "tan is not a trust anchor we accept.", OB_TAN)


def _crit_problems(header: dict[str, Any]) -> Iterable[OBError]:
    if "crit" not in header:
        return
    crit = header["crit"]
    if not isinstance(crit, list) or not all(isinstance(name, str) for name in crit):
        yield _error(SIGNATURE_INVALID_CLAIM, "crit must be a list of claim names.", "crit")
        return
    if any(name not in crit for name in CRITICAL):
        yield _error(SIGNATURE_MISSING_CLAIM, "crit must name iat, iss and tan.", "crit")
    if any(name not in CRITICAL for name in crit) or len(crit) != len(set(crit)):
        yield _error(SIGNATURE_INVALID_CLAIM, "crit must name only iat, iss and tan.", "crit")


def _client_key(client_jwks: KeySet, header: dict[str, Any]) -> Key | None:
    """The client's key named by ``kid``, if it may sign with the header's ``alg``."""
    try:
        key = client_jwks.get_by_kid(header["kid"])
    except JoseError:
        return None
    if key.get("use") not in (None, "sig") or key.get("alg") not in (None, header["alg"]):
        return None
    try:
        REGISTRY.get_alg(header["alg"]).check_key(key)
    except JoseError:
        return None
    return key


def sign_response(
    body: bytes, signer: ResponseSigner, *, issuer: str, trust_anchor: str, now: float
) -> str:
    """Our detached JWS over the exact response ``body``, for its ``x-jws-signature``."""
    if signer.alg not in ALGORITHMS:
        raise ValueError("response signatures use PS256 or ES256")
    header = {
        "alg": signer.alg,
        "kid": signer.kid,
        "typ": "JOSE",
        "cty": "application/json",
        OB_IAT: int(now),
        OB_ISS: issuer,
        OB_TAN: trust_anchor,
        "crit": list(CRITICAL),
    }
    compact = jws.serialize_compact(header, body, signer.private_key, registry=REGISTRY)
    return jws.detach_content(compact)
