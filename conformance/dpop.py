"""The runner's DPoP client side (RFC 9449): the server-nonce round trip every proof-carrying
request goes through, and proofs reshaped for the negative checks.

Like the OIDF suite, a request answered ``use_dpop_nonce`` (400 JSON error at the AS,
401 ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` at a resource) is sent once more
with a fresh proof carrying the ``DPoP-Nonce`` it came with; everything else in the
request (the client assertion included) is sent again unchanged, as the suite does.
Nonces are learnt only from such a challenge, so a server that does not ask never sees
one (a nonce would also lift its ``iat`` window, which #56 probes).
TEST-ONLY keys: DPoP keys here are generated per run and sign nothing real.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from joserfc.errors import SecurityWarning
from joserfc.jws import JWSRegistry

from conformance.checks import header
from conformance.wire import WireResponse
from tppkit import HttpResponse
from tppkit import PrivateKey
from tppkit.encoding import b64url
from tppkit.encoding import b64url_decode
from tppkit.encoding import segment_json

NONCE_ERROR = "use_dpop_nonce"
AS, RS = "as", "rs"
"""Nonce roles: the authorization server (PAR, token) and the resource server."""
# RFC 9449 §8.1: nonce = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E.
_NQCHAR = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 SHA-256 thumbprint (what ``dpop_jkt`` and ``cnf.jkt`` carry)."""
    return str(key.thumbprint())


def strip_url(url: str) -> str:
    """``url`` without query and fragment: what ``htu`` carries (RFC 9449 §4.2)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def header_values(response: HttpResponse, name: str) -> list[str]:
    if isinstance(response, WireResponse):
        return response.values(name)
    value = header(response, name)
    return [value] if value else []


def oauth_error(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def nonce_challenge(response: HttpResponse) -> str | None:
    """The DPoP-Nonce of a ``use_dpop_nonce`` answer ("" when the header is missing), or None
    when ``response`` is no such challenge."""
    if response.status not in (400, 401):
        return None
    challenges = " ".join(header_values(response, "WWW-Authenticate"))
    if f'error="{NONCE_ERROR}"' not in challenges and oauth_error(response) != NONCE_ERROR:
        return None
    return header(response, "DPoP-Nonce")


def nonce_problem(response: HttpResponse) -> str | None:
    """What is wrong with a response's DPoP-Nonce (RFC 9449 §8.1: one field, 1*NQCHAR)."""
    values = header_values(response, "DPoP-Nonce")
    if len(values) > 1:
        return f"{len(values)} DPoP-Nonce header fields (wanted exactly one)"
    if values and not _NQCHAR.fullmatch(values[0]):
        return f"DPoP-Nonce {values[0][:40]!r} is not 1*NQCHAR"
    return None


@dataclass(frozen=True)
class NonceChallenge:
    """One use_dpop_nonce answer and how the single retry went."""

    what: str
    nonce: str
    retry_status: int | None
    retry_error: str | None


@dataclass
class NonceMemory:
    """The last server nonce per role, learnt from use_dpop_nonce and then kept fresh from
    the DPoP-Nonce of each later response (RFC 9449 §8.2); every challenge is logged."""

    challenges: list[NonceChallenge] = field(default_factory=list)
    _values: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, role: str) -> str | None:
        with self._lock:
            return self._values.get(role)

    def learn(self, role: str, nonce: str) -> None:
        with self._lock:
            self._values[role] = nonce

    def observe(self, role: str, response: HttpResponse) -> None:
        offered = header(response, "DPoP-Nonce")
        with self._lock:
            if role in self._values and offered:
                self._values[role] = offered

    def log(self, challenge: NonceChallenge) -> None:
        with self._lock:
            self.challenges.append(challenge)


def exchange(
    request: Callable[[str | None], HttpResponse], role: str, nonces: NonceMemory, what: str
) -> HttpResponse:
    """``request(nonce)`` builds fresh proofs with ``nonce`` and sends; a use_dpop_nonce
    answer is retried once with the nonce it carries (the suite's MAX_RETRY of 2 tries)."""
    response = request(nonces.get(role))
    nonce = nonce_challenge(response)
    if nonce is None:
        nonces.observe(role, response)
        return response
    if not nonce:
        nonces.log(NonceChallenge(what, "", None, None))
        return response
    nonces.learn(role, nonce)
    retry = request(nonce)
    nonces.log(NonceChallenge(what, nonce, retry.status, oauth_error(retry)))
    nonces.observe(role, retry)
    return retry


def reshaped(
    proof: str,
    key: PrivateKey,
    changes: dict[str, Any],
    *,
    sign_alg: str | None = None,
) -> str:
    """``proof`` with its JOSE header ``changes`` applied (None removes a member), signed
    again by ``key``: with ``sign_alg``, else the new header alg, else the original one.
    ``alg: none`` leaves the signature empty, as an unsecured JWS has it."""
    head, payload, _ = proof.split(".")
    original = segment_json(head)
    protected = {k: v for k, v in {**original, **changes}.items() if v is not None}
    alg = sign_alg or protected.get("alg") or original["alg"]
    encoded = b64url(json.dumps(protected).encode())
    if alg == "none":
        return f"{encoded}.{payload}."
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
        signature = JWSRegistry.algorithms[alg].sign(f"{encoded}.{payload}".encode(), key)
    return f"{encoded}.{payload}.{b64url(signature)}"


def bad_signature(proof: str) -> str:
    """``proof`` with one signature byte changed (still base64url, still the right length)."""
    head, payload, signature = proof.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"
