"""Which redirect URIs may be registered: https, or http on a loopback host; no fragment.

The registration rule lives with the clients (``checks/`` re-uses it for authorization
requests), so ``clients`` never imports ``checks``.
"""

from __future__ import annotations

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
