"""Redirect-URI rules: https, or http on a loopback host for native clients; no fragment.

Registration and every authorization request use these same rules, and matching
is exact string comparison (FAPI 2.0: no pattern or prefix matching).
"""

from __future__ import annotations

from urllib.parse import quote
from urllib.parse import urlsplit

from authserver.clients.redirect_uri import redirect_uri_problem

__all__ = ["csp_source", "is_registered", "redirect_uri_problem"]


def is_registered(uri: str, registered: list[str]) -> bool:
    """Exact match only; a near miss is a miss."""
    return uri in registered


def csp_source(uri: str) -> str:
    """``uri`` as a CSP source expression (form-action): scheme, host, port and path only.

    CSP3 §2.3.1 source expressions have no query part; browsers drop a source carrying
    one, which leaves form-action blocking the post or redirect it was meant to allow.
    The path is percent-encoded so ";", "," or whitespace cannot end the directive or
    the policy.
    """
    parts = urlsplit(uri)
    path = quote(parts.path, safe="/-._~%!$&()*+=:@")
    return f"{parts.scheme}://{parts.netloc}{path}"
