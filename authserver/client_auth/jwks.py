"""A client's public keys: registered ``jwks``, or ``jwks_uri`` fetched (timeout, cache)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from http.client import HTTPMessage
from typing import IO
from typing import Any
from typing import cast
from urllib.parse import urlsplit

import structlog
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization

from authserver.client_auth.errors import InvalidClientError
from authserver.clients.models import Client
from authserver.clients.service import validate_public_jwks
from authserver.clock import Clock

log = structlog.get_logger(__name__)

FETCH_SCHEMES = ("http", "https")
MAX_JWKS_BYTES = 256 * 1024
_CHUNK = 16 * 1024


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would also follow one to ftp)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in FETCH_SCHEMES:
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def fetch_jwks(url: str, timeout: float) -> dict[str, Any]:
    """GET ``url`` and return its JSON object; ``timeout`` bounds each step and the whole read.

    Raises OSError (network, HTTP status, timeout), HTTPException or ValueError (not JSON,
    too large, wrong scheme).
    """
    if urlsplit(url).scheme not in FETCH_SCHEMES:
        raise ValueError("jwks_uri must be an http(s) URL")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Accept": "application/jwk-set+json, application/json"}
    )
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # an error status still holds the connection open
        raise
    body = bytearray()
    with response:
        while chunk := response.read1(_CHUNK):
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise ValueError(f"JWKS larger than {MAX_JWKS_BYTES} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError("JWKS download took longer than the timeout")
    document = json.loads(bytes(body))
    if not isinstance(document, dict):
        raise ValueError("JWKS is not a JSON object")
    return document


def parse_key_set(document: Any) -> KeySet:
    """A JWK Set of public keys with unique kids (the registration rules); ValueError if not."""
    validate_public_jwks(document)
    return KeySet.import_key_set(cast(KeySetSerialization, document))


@dataclass(frozen=True)
class _Cached:
    uri: str
    fetched_at: float
    keys: KeySet


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


class ClientKeyResolver:
    def __init__(self, timeout: float, cache_seconds: int, clock: Clock) -> None:
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        # Registered JWKS parsed once per registration object: the client cache hands out
        # the same object until the registration is reloaded, and parsing costs as much
        # as verifying the assertion (issue 15).
        self._parsed: dict[str, tuple[object, KeySet]] = {}
        self._lock = threading.Lock()

    def key_set(self, client: Client, kid: str | None) -> KeySet:
        """Keys to verify ``client``'s JWTs; refetch a jwks_uri once when ``kid`` is unknown."""
        if client.jwks is not None:
            return self._registered(client)
        if not client.jwks_uri:
            raise self._failure(client, "client has neither jwks nor jwks_uri")
        cached = self._fresh(client.client_id, client.jwks_uri)
        if cached is not None and (kid is None or _has_kid(cached.keys, kid)):
            return cached.keys
        return self._fetch(client, client.jwks_uri)

    def _registered(self, client: Client) -> KeySet:
        document = client.jwks
        parsed = self._parsed.get(client.client_id)
        if parsed is not None and parsed[0] is document:
            return parsed[1]
        try:
            keys = parse_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise self._failure(client, f"registered jwks unusable: {exc}") from None
        self._parsed[client.client_id] = (document, keys)
        return keys

    def _fresh(self, client_id: str, uri: str) -> _Cached | None:
        with self._lock:
            cached = self._cache.get(client_id)
        if cached is None or cached.uri != uri:
            return None
        age = self._clock.time() - cached.fetched_at
        return cached if 0 <= age < self._cache_seconds else None

    def _fetch(self, client: Client, uri: str) -> KeySet:
        try:
            keys = parse_key_set(fetch_jwks(uri, self._timeout))
        except (OSError, HTTPException, JoseError, ValueError, TypeError, KeyError) as exc:
            raise self._failure(client, f"jwks_uri fetch failed: {exc!r}") from None
        with self._lock:
            self._cache[client.client_id] = _Cached(uri, self._clock.time(), keys)
        return keys

    @staticmethod
    def _failure(client: Client, detail: str) -> InvalidClientError:
        log.warning(
            "client_jwks_unavailable",
            client_id=client.client_id,
            jwks_uri=client.jwks_uri,
            error_detail=detail,
        )
        return InvalidClientError()
