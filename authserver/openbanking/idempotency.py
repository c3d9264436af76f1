"""``x-idempotency-key`` (API-3; UK OB v4.0 Read/Write API "Idempotency").

A POST that creates a resource runs once per client and key: the first request claims the
key in the shared store and runs; a retry with the same key and the same body gets the
stored response back, byte for byte (status, body, headers), for 24 hours.

The choices, where the standard leaves them to us:

- **Same key, different body**: 422 with an ``OBErrorResponse1`` ``U006``
  (Header.Invalid, Path ``x-idempotency-key``): the body is fine, the key is what the client
  may not reuse for it. The body is compared by its SHA-256 (exact bytes, not JSON meaning:
  the signature is over the bytes too).
- **Same key while the first request still runs**: 409 ``U029``
  (Rules.ResourceAlreadyExists), never a second execution; the client retries and then gets
  the stored response. (Waiting for the first would hold a worker per duplicate.)
- **What is stored**: only 2xx and 4xx responses that ``execute`` *returns*. A 5xx is not
  stored (the failure was ours; a retry should run again), and when ``execute`` raises, the
  claim is released so a retry can run.
- **A process dying mid-request** leaves its claim behind: the claim therefore expires after
  ``in_flight_ttl`` (default 5 minutes, far beyond any request's time limit), after which the
  key can run again. The payment's own once-only rule (a consent pays once) still holds.
- **The stored body is sealed** when a ``cipher`` is given (the payment endpoints give the
  app's envelope): a payment's response echoes the payee's account number, which is
  tier-1 data (DATA-1), so it rests in the store only encrypted, bound to its store key.
- **Keys of different clients never meet**: the client id is percent-encoded in the store key
  (``idempotency:{client}:{key}``), so no ``:`` in a client id or key can make two pairs
  collide.

With Redis every process shares the claims; the in-process store covers one process only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from authserver.clock import Clock
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.openbanking.errors import HEADER_INVALID
from authserver.openbanking.errors import HEADER_MISSING
from authserver.openbanking.errors import RESOURCE_EXISTS
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.errors import bad_request
from authserver.store.base import Store

HEADER = "x-idempotency-key"
MAX_KEY_LENGTH = 40  # the standard's x-idempotency-key maxLength
DEFAULT_TTL = timedelta(hours=24)
DEFAULT_IN_FLIGHT_TTL = timedelta(minutes=5)
_IN_FLIGHT = "in_flight"
_DONE = "done"
# A record read as missing between a failed claim and the read (it expired, or the first
# request failed and released it): claim again, a bounded number of times.
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredResponse:
    """A response as sent: replayed exactly, so headers keep their order and repeats."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def validate_key(value: str | None) -> str:
    """The header's value, or 400 ``U007`` (missing) / ``U006`` (invalid).

    The standard's pattern ``^(?!\\s)(.*)(\\S)$`` with at most 40 characters; we also keep it to
    printable ASCII, since it becomes part of a store key and may reach logs."""
    if value is None or value == "":
        raise bad_request(
            OBError(HEADER_MISSING, "The x-idempotency-key header is required.", HEADER)
        )
    printable = all(" " <= char <= "~" for char in value)
    if len(value) > MAX_KEY_LENGTH or not printable or value != value.strip():
        raise bad_request(
            OBError(
                HEADER_INVALID,
                "x-idempotency-key must be 1 to 40 printable characters, not starting or ending"
                " with a space.",
                HEADER,
            )
        )
    return value


def read_key(headers: Mapping[str, str]) -> str:
    """``x-idempotency-key`` from request headers (Werkzeug's are case-insensitive)."""
    return validate_key(headers.get(HEADER))


def store_key(client_id: str, key: str) -> str:
    return f"idempotency:{quote(client_id, safe='')}:{key}"


class Idempotency:
    """Run a request once per (client, key); replay its response to identical retries."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ttl: timedelta = DEFAULT_TTL,
        in_flight_ttl: timedelta = DEFAULT_IN_FLIGHT_TTL,
        cipher: Envelope | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cipher = cipher
        self._ttl = ttl.total_seconds()
        self._in_flight_ttl = in_flight_ttl.total_seconds()

    def run(
        self,
        client_id: str,
        key: str,
        request_body: bytes,
        execute: Callable[[], StoredResponse],
    ) -> StoredResponse:
        """``execute()`` once for this client and key, or the response it gave before.

        Raises OBErrorResponse 422 (same key, other body) or 409 (first still running);
        StoreUnavailableError when the store cannot be reached (the caller's 503)."""
        name = store_key(client_id, validate_key(key))
        digest = hashlib.sha256(request_body).hexdigest()
        claim = _encode({"state": _IN_FLIGHT, "sha256": digest, "at": self._clock.time()})
        for _ in range(_CLAIM_ATTEMPTS):
            if self._store.first_use(name, self._in_flight_ttl, claim):
                return self._execute(name, digest, execute)
            raw = self._store.get(name)
            if raw is not None:
                return self._answer_retry(name, raw, digest)
        raise _in_flight()

    def _execute(
        self, name: str, digest: str, execute: Callable[[], StoredResponse]
    ) -> StoredResponse:
        release = True  # unless execute returns a response worth keeping
        try:
            response = execute()
            release = response.status >= 500
        finally:
            if release:
                self._store.delete(name)  # a retry may run again
        if release:
            return response
        record = {
            "state": _DONE,
            "sha256": digest,
            "at": self._clock.time(),
            "status": response.status,
            "headers": [list(header) for header in response.headers],
        }
        if self._cipher is not None:
            record["sealed_body"] = self._cipher.seal(response.body, name).to_text()
        else:
            record["body"] = base64.b64encode(response.body).decode("ascii")
        self._store.set(name, _encode(record), self._ttl)
        return response

    def _body(self, name: str, record: Mapping[str, Any]) -> bytes:
        if "sealed_body" not in record:
            return base64.b64decode(record["body"])
        if self._cipher is None:  # a record written by a sealing caller: never guess
            raise ValueError("a sealed idempotency record needs its cipher")
        return self._cipher.open(Sealed.from_text(str(record["sealed_body"])), name)

    def _answer_retry(self, name: str, raw: bytes, digest: str) -> StoredResponse:
        record = json.loads(raw)
        if not hmac.compare_digest(str(record["sha256"]), digest):
            raise OBErrorResponse(
                422,
                [
                    OBError(
                        HEADER_INVALID,
                        "This x-idempotency-key was used with a different request body.",
                        HEADER,
                    )
                ],
            )
        if record["state"] != _DONE:
            raise _in_flight()
        return StoredResponse(
            status=int(record["status"]),
            body=self._body(name, record),
            headers=tuple((str(name), str(value)) for name, value in record["headers"]),
        )


def _in_flight() -> OBErrorResponse:
    return OBErrorResponse(
        409,
        [OBError(RESOURCE_EXISTS, "A request with this x-idempotency-key is in progress.", HEADER)],
    )


def _encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()
