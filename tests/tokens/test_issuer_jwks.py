"""The resource server's view of the issuer's keys: ``<issuer>/jwks`` over HTTP, cached,
refetched on an unknown kid at most once per interval, and 503 when it cannot be read.

A real HTTP server on loopback serves the JWKS; the clock is frozen so the TTL and the
refetch rate limit are exact.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from authserver.clock import FrozenClock
from authserver.db import db
from authserver.rs import create_resource_app
from authserver.settings import Settings
from authserver.settings import load_resource_server_settings
from authserver.tokens.issuer_jwks import IssuerJwks
from authserver.tokens.issuer_jwks import IssuerUnreachableError
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port

TTL = 60.0
MIN_REFETCH = 10.0


@dataclass
class Published:
    keys: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0
    url: str = ""


def new_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256"}, private=True)


@pytest.fixture
def published() -> Iterator[Published]:
    state = Published()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            state.hits += 1
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/jwk-set+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """No access lines on stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def source(url: str, clock: FrozenClock) -> IssuerJwks:
    return IssuerJwks(url, clock, ttl=TTL, min_refetch_seconds=MIN_REFETCH, timeout=3)


def test_issuer_jwks_is_reused_for_its_ttl(published: Published, clock: FrozenClock) -> None:
    published.keys = [new_key("k1").as_dict(private=False)]
    keys = source(published.url, clock)

    assert keys.public_key("k1") is not None
    assert keys.public_key("k1") is not None
    assert published.hits == 1
    clock.advance(timedelta(seconds=TTL))
    assert keys.public_key("k1") is not None
    assert published.hits == 2


def test_unknown_kid_refetches_at_most_once_per_interval(
    published: Published, clock: FrozenClock
) -> None:
    published.keys = [new_key("k1").as_dict(private=False)]
    keys = source(published.url, clock)
    assert keys.public_key("k1") is not None

    clock.advance(timedelta(seconds=MIN_REFETCH - 1))
    assert keys.public_key("forged") is None
    assert published.hits == 1  # within the interval: no request for an unknown kid
    clock.advance(timedelta(seconds=1))
    published.keys.append(new_key("k2").as_dict(private=False))  # rotated in at the issuer
    assert keys.public_key("k2") is not None
    assert published.hits == 2
    assert keys.public_key("forged") is None
    assert published.hits == 2


def test_private_members_are_never_taken_from_the_issuer(
    published: Published, clock: FrozenClock
) -> None:
    published.keys = [new_key("k1").as_dict(private=True)]

    with pytest.raises(IssuerUnreachableError):
        source(published.url, clock).public_key("k1")


def test_resource_server_answers_503_when_the_issuer_jwks_cannot_be_read(
    make_settings: Callable[..., Settings],
    tmp_path: Any,
) -> None:
    values = make_settings().model_dump()
    values.update(
        master_key=None,
        instance_path=tmp_path,
        issuer_jwks_uri=f"http://127.0.0.1:{closed_port()}/jwks",
    )
    app = create_resource_app(load_resource_server_settings(**values))
    token = jwt.encode({"alg": "ES256", "kid": "k1", "typ": "at+jwt"}, {}, new_key("k1"))
    try:
        response = app.test_client().get("/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert_oauth_error(response, 503, "temporarily_unavailable")
    finally:
        app.extensions["authserver.resources"].revocation_view.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
