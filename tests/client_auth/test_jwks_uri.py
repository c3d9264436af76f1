"""Client keys fetched from jwks_uri: a real HTTP server on loopback, timeout, cache, rotation."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from joserfc.jwk import Key

from authserver.client_auth.errors import InvalidClientError
from authserver.client_auth.jwks import fetch_jwks
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.settings import Settings
from tests.client_auth import assertion
from tests.client_auth import form
from tests.client_auth import generate_key
from tests.client_auth import public_jwks
from tests.client_auth import register
from tests.client_auth import shared_key

FETCH_TIMEOUT = 0.3
CACHE_SECONDS = 300


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    result: Settings = make_settings(
        oauth={"jwks_fetch_timeout": FETCH_TIMEOUT, "jwks_cache_seconds": CACHE_SECONDS}
    )
    return result


class JwksServer:
    """What the loopback server serves; tests change it between requests and count hits."""

    def __init__(self) -> None:
        self.body = b'{"keys": []}'
        self.status = 200
        self.delay = 0.0
        self.hits = 0
        self.url = ""
        self.release = threading.Event()

    def serve_keys(self, *keys: Key) -> None:
        self.body = json.dumps(public_jwks(*keys)).encode()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test) closes its socket; that is expected."""


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            state.hits += 1
            if state.delay:
                state.release.wait(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/jwk-set+json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """No access lines on stderr."""

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def key_1() -> Key:
    return shared_key("ES256", "uri-key-1")


@pytest.fixture
def tpp(svc: Services, jwks_server: JwksServer, key_1: Key) -> str:
    jwks_server.serve_keys(key_1)
    register(svc, "uri-tpp", jwks_uri=jwks_server.url)
    return "uri-tpp"


def authenticate(svc: Services, client_id: str, key: Key, alg: str = "ES256") -> str:
    return svc.client_auth.authenticate(form(assertion(svc, client_id, key, alg=alg))).client_id


def test_keys_fetched_from_jwks_uri_verify_the_assertion(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    assert authenticate(svc, tpp, key_1) == tpp
    assert jwks_server.hits == 1


@pytest.mark.parametrize("alg", ["PS256", "EdDSA"])
def test_jwks_uri_keys_of_every_fapi_algorithm_verify(
    svc: Services, jwks_server: JwksServer, alg: str
) -> None:
    key = shared_key(alg, f"uri-{alg}")
    jwks_server.serve_keys(key)
    register(svc, "uri-" + alg.lower(), jwks_uri=jwks_server.url)

    assert authenticate(svc, "uri-" + alg.lower(), key, alg) == "uri-" + alg.lower()


def test_fetched_jwks_is_cached(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    authenticate(svc, tpp, key_1)
    authenticate(svc, tpp, key_1)
    authenticate(svc, tpp, key_1)

    assert jwks_server.hits == 1


def test_cached_jwks_is_fetched_again_after_cache_seconds(
    svc: Services, clock: FrozenClock, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    authenticate(svc, tpp, key_1)
    clock.advance(CACHE_SECONDS - 1)
    authenticate(svc, tpp, key_1)
    assert jwks_server.hits == 1

    clock.advance(2)
    authenticate(svc, tpp, key_1)
    assert jwks_server.hits == 2


def test_unknown_kid_triggers_one_refetch_so_key_rotation_works(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    authenticate(svc, tpp, key_1)
    key_2 = generate_key("ES256", "uri-key-2")
    jwks_server.serve_keys(key_1, key_2)

    assert authenticate(svc, tpp, key_2) == tpp
    assert jwks_server.hits == 2
    # The refetched set is cached: both keys now verify without another fetch.
    authenticate(svc, tpp, key_1)
    authenticate(svc, tpp, key_2)
    assert jwks_server.hits == 2


def test_kid_missing_after_the_refetch_is_refused_after_exactly_one_fetch(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    authenticate(svc, tpp, key_1)
    stranger = generate_key("ES256", "not-published")

    with pytest.raises(InvalidClientError):
        authenticate(svc, tpp, stranger)
    assert jwks_server.hits == 2


def test_slow_jwks_uri_is_refused_within_the_timeout(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    jwks_server.delay = 5.0
    started = time.monotonic()

    with pytest.raises(InvalidClientError):
        authenticate(svc, tpp, key_1)

    assert time.monotonic() - started < FETCH_TIMEOUT + 1.5
    assert jwks_server.hits == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html>not json</html>"),
        (200, b"[1, 2, 3]"),
        (200, b'{"keys": []}'),
        (200, b'{"keys": [{"kty": "EC", "kid": "x"}]}'),
        (500, b'{"error": "oops"}'),
        (404, b""),
    ],
)
def test_garbage_from_jwks_uri_is_refused(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key, status: int, body: bytes
) -> None:
    jwks_server.status = status
    jwks_server.body = body
    started = time.monotonic()

    with pytest.raises(InvalidClientError) as info:
        authenticate(svc, tpp, key_1)

    assert info.value.description == "Client authentication failed."
    assert time.monotonic() - started < 1.0


def test_jwks_uri_serving_a_private_key_is_refused(
    svc: Services, jwks_server: JwksServer, tpp: str, key_1: Key
) -> None:
    jwks_server.body = json.dumps({"keys": [key_1.as_dict(private=True)]}).encode()

    with pytest.raises(InvalidClientError):
        authenticate(svc, tpp, key_1)


def test_unreachable_jwks_uri_is_refused_and_logged(
    svc: Services, jwks_server: JwksServer, key_1: Key, caplog: pytest.LogCaptureFixture
) -> None:
    # A loopback port nobody listens on: bind one, note it, close it.
    probe = _QuietServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead_url = f"http://127.0.0.1:{probe.server_address[1]}/jwks.json"
    probe.server_close()
    register(svc, "dead-tpp", jwks_uri=dead_url)
    caplog.set_level(logging.WARNING)

    with pytest.raises(InvalidClientError):
        authenticate(svc, "dead-tpp", key_1)

    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.startswith("authserver")]
    [entry] = [line for line in lines if line["event"] == "client_jwks_unavailable"]
    assert entry["client_id"] == "dead-tpp"
    assert entry["error_detail"]


def test_fetch_refuses_non_http_schemes(tmp_path: Any) -> None:
    target = tmp_path / "jwks.json"
    target.write_text('{"keys": []}')

    with pytest.raises(ValueError, match="http"):
        fetch_jwks(target.as_uri(), 1.0)


def test_fetch_refuses_an_oversized_document(jwks_server: JwksServer) -> None:
    jwks_server.body = b'{"keys": [], "padding": "' + b"x" * 300_000 + b'"}'

    with pytest.raises(ValueError, match="larger"):
        fetch_jwks(jwks_server.url, 2.0)
