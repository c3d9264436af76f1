"""JSON bodies nest at most 32 levels, on every endpoint (issue 14 item 6).

Python's JSON parser recurses: a body of a few thousand brackets, well under the size
limit, exhausts the stack inside whichever library parses it first (Flask-WTF's CSRF
check reads JSON bodies on the login pages, for one) and became a 500. Every body
declared as JSON is measured here, with a loop and no parsing, before any view or
extension reads it: deeper than ``MAX_JSON_DEPTH`` is 400 ``invalid_request`` (an
``OBErrorResponse1`` on open-banking paths, see ``openbanking.envelope``). No request
we accept nests deeper than about six levels.

Media types are strict where a body is read: the OAuth endpoints take only
``application/x-www-form-urlencoded`` (400 ``invalid_request``, RFC 6749 §3.2), the JSON
APIs only ``application/json`` (415).
"""

from __future__ import annotations

from flask import Flask
from flask import request

from authserver.errors import InvalidRequestError

MAX_JSON_DEPTH = 32
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


class JsonTooDeepError(InvalidRequestError):
    description = "The JSON body is nested too deeply."


def json_depth_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than ``limit`` (malformed JSON is
    left to the parser, which refuses it the ordinary way)."""
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False


def is_json_media_type(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _refuse_deep_json() -> None:
    if not is_json_media_type(request.mimetype) or not request.content_length:
        return
    # The body limit has already refused anything over AUTHSERVER_MAX_BODY_BYTES.
    if json_depth_exceeds(request.get_data(cache=True)):
        raise JsonTooDeepError()


def setup_body_rules(app: Flask) -> None:
    """Register after ``setup_body_limit``: only bounded bodies are measured."""
    app.before_request(_refuse_deep_json)
