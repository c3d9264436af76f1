"""Security headers on every response (OPS-2) and no-store unless a view chose to be cacheable."""

from __future__ import annotations

from flask import Flask
from flask import Response

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _apply(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Anything may carry a token or personal data: caching is opt-in per view (JWKS, discovery).
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if "no-store" in response.headers["Cache-Control"]:
        response.headers.setdefault("Pragma", "no-cache")
    return response


def setup_security_headers(app: Flask) -> None:
    app.after_request(_apply)
