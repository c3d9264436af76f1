"""Redirect-URI rules: https, or http on a loopback host for native clients; no fragment.

Registration and every authorization request use these same rules, and matching
is exact string comparison (FAPI 2.0: no pattern or prefix matching).
"""

from __future__ import annotations

from urllib.parse import quote
from urllib.parse import urlsplit

from authserver.settings import is_loopback_host


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` may not be registered, or None when it may."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a valid URL"
    if not parts.scheme or not parts.hostname:
        return "must be an absolute URL"
    # RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment component.
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return "must use https (http only on a loopback host)"


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
