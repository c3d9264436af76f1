"""Request bodies are bounded whatever their framing (RFC 9110 §15.5.14, 413).

Werkzeug checks ``MAX_CONTENT_LENGTH`` against a Content-Length header, but a chunked
body (no Content-Length; the server terminates the stream: gunicorn, Werkzeug's
dechunker) is only read up to the limit and then silently cut, so the head of a
too-large body would be processed as if it were the whole (foundations F3).

``BoundedBody`` reads such a body before the app sees it, at most limit + 1 bytes, and
hands it on with its true Content-Length; ``_refuse_large_bodies`` then answers 413
``request_too_large`` through the one error path, for both framings and on every
endpoint, whether or not the view reads its body.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import IO
from typing import TYPE_CHECKING

from flask import Flask
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

_READ_SIZE = 16384
# Over the limit, up to this many times the limit is read and dropped before answering,
# so a client still sending its body reads the 413 instead of a connection reset; a
# larger body is cut off (the server closes the connection after the 413 anyway).
_DRAIN_FACTOR = 16


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        part = stream.read(min(_READ_SIZE, remaining))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


class BoundedBody:
    """WSGI middleware: a stream-terminated body without Content-Length gets one."""

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self._app = app
        self._limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            stream: IO[bytes] = environ["wsgi.input"]
            body = _read_at_most(stream, self._limit + 1)
            if len(body) > self._limit:
                _read_at_most(stream, self._limit * _DRAIN_FACTOR)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            # The server already removed the chunked framing; Werkzeug ignores
            # Content-Length while Transfer-Encoding says chunked.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self._app(environ, start_response)


def _refuse_large_bodies() -> None:
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def setup_body_limit(app: Flask, limit: int) -> None:
    """Bound every request body to ``limit`` bytes (``MAX_CONTENT_LENGTH``), chunked or not."""
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.wsgi_app = BoundedBody(app.wsgi_app, limit)  # type: ignore[method-assign]
    app.before_request(_refuse_large_bodies)
