"""base64url (RFC 4648 §5, unpadded as JOSE uses it) and unverified peeks into compact JWTs.

One place for the encodings the TPP side needs: tests build malformed tokens with them and
read headers a server produced. Encoding goes through ``joserfc.util``; decoding accepts
non-canonical input too (a test may want to look at what a server sent, however odd).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc.util import urlsafe_b64encode


def b64url(data: bytes) -> str:
    """Unpadded base64url of ``data``."""
    return urlsafe_b64encode(data).decode("ascii")


def b64url_decode(segment: str | bytes) -> bytes:
    """The bytes of an unpadded (or padded) base64url ``segment``."""
    text = segment.encode("ascii") if isinstance(segment, str) else segment
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def b64url_json(value: Any) -> str:
    """A JSON value as one base64url JWS segment (header or payload)."""
    return b64url(json.dumps(value).encode())


def segment_json(segment: str | bytes) -> dict[str, Any]:
    """The JSON object in one base64url segment (ValueError when it is not an object)."""
    value = json.loads(b64url_decode(segment))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def jwt_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified."""
    return segment_json(token.split(".")[0])


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWS, unverified (read only what a server already checked)."""
    return segment_json(token.split(".")[1])
