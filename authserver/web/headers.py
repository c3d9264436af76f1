"""Security headers on every response (OPS-2), no-store unless a view chose to be cacheable,
and the DPoP-Nonce hook of the endpoints that take DPoP proofs."""

from __future__ import annotations

from typing import Protocol

from flask import Flask
from flask import Response
from flask import current_app
from flask import request

NONCES_KEY = "authserver.dpop_nonces"


class NonceSource(Protocol):
    def current(self) -> str: ...


SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages load only what we serve (no CDN, font or script host), and no plugin or <base>.
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "strict-origin-when-cross-origin",
    # RFC 9449 §8 and §9: browser clients must be able to read the nonce and the challenge.
    "Access-Control-Expose-Headers": "DPoP-Nonce, WWW-Authenticate",
}


_LOWERED = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())


def _apply(response: Response) -> Response:
    # Runs on every response: the names present are read once, instead of one scan of
    # the header list per header set (werkzeug's setdefault).
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 - Headers, not a dict
    for lowered, name, value in _LOWERED:
        if lowered not in present:
            headers.add(name, value)
    # Anything may carry a token or personal data: caching is opt-in per view (JWKS, discovery).
    cache_control = headers.get("Cache-Control")
    if cache_control is None:
        cache_control = "no-store"
        headers.add("Cache-Control", cache_control)
    if "no-store" in cache_control and "pragma" not in present:
        headers.add("Pragma", "no-cache")
    return response


def offer_dpop_nonce(response: Response) -> Response:
    """After-request hook of the AS endpoints taking DPoP proofs (token, PAR).

    RFC 9449 §8.2: a request that carried a proof gets the next server nonce, on
    success and on error alike, in exactly one header (a use_dpop_nonce error has
    already set it).
    """
    if request.headers.getlist("DPoP") and "DPoP-Nonce" not in response.headers:
        nonces: NonceSource = current_app.extensions[NONCES_KEY]
        response.headers["DPoP-Nonce"] = nonces.current()
    return response


def setup_security_headers(app: Flask, nonces: NonceSource) -> None:
    """``nonces`` is the app's DPoP nonce service, for ``offer_dpop_nonce``."""
    app.extensions[NONCES_KEY] = nonces
    app.after_request(_apply)
