"""OPS-2 security headers on every response, cache policy per view, and request ids."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask import jsonify
from flask.testing import FlaskClient

HEX32 = re.compile(r"^[0-9a-f]{32}$")
CACHEABLE_PATHS = (
    "/jwks",
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
)


def assert_security_headers(response: Any) -> None:
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/readyz", 200),
        ("GET", "/.well-known/openid-configuration", 200),
        ("GET", "/no/such/path", 404),
        ("POST", "/healthz", 405),
    ],
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert_security_headers(response)


def test_security_headers_on_an_unhandled_500(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test/boom")
    def boom() -> Any:
        raise RuntimeError("internal")

    response = app.test_client().get("/test/boom")
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_security_headers_are_added_around_a_view_with_its_own_csp(app: Flask) -> None:
    # A view setting its own CSP keeps it; every other header is still added.
    @app.get("/test/own-csp")
    def own_csp() -> Any:
        response = jsonify({})
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        return response

    response = app.test_client().get("/test/own-csp")
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/no/such/path"])
def test_responses_are_no_store_by_default(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["Cache-Control"] == "no-store"


def test_default_no_store_adds_pragma_for_http_1_0_caches(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("path", CACHEABLE_PATHS)
def test_jwks_and_discovery_are_publicly_cacheable(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Pragma" not in response.headers
    assert_security_headers(response)


def test_cacheable_max_age_follows_settings(make_settings: Any, clock: Any) -> None:
    from authserver import create_app
    from authserver.db import db

    app = create_app(make_settings(keys={"jwks_max_age": 60}), clock=clock)
    try:
        response = app.test_client().get("/.well-known/openid-configuration")
        assert response.headers["Cache-Control"] == "public, max-age=60"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- request ids ---------------------------------------------------------------------


@pytest.mark.parametrize("supplied", ["abc123", "req-1.2_3:4", "A" * 128])
def test_valid_request_id_is_echoed(client: FlaskClient, supplied: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": supplied})
    assert response.headers["X-Request-ID"] == supplied


def test_missing_request_id_is_generated_as_32_hex(client: FlaskClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert HEX32.match(first)
    assert HEX32.match(second)
    assert first != second


@pytest.mark.parametrize(
    "supplied",
    [
        "has spaces in it",
        "tab\there",
        "A" * 129,
        "x" * 200,
        "<script>alert(1)</script>",
        "id;rm -rf /",
        '{"json": true}',
        "caf\u00e9",
        "",
    ],
    ids=[
        "spaces",
        "tab",
        "129-chars",
        "200-chars",
        "markup",
        "shell",
        "json",
        "non-ascii",
        "empty",
    ],
)
def test_invalid_request_id_is_replaced(client: FlaskClient, supplied: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": supplied})
    echoed = response.headers["X-Request-ID"]
    assert echoed != supplied
    assert HEX32.match(echoed)


def test_request_id_is_echoed_on_error_responses(client: FlaskClient) -> None:
    response = client.get("/no/such/path", headers={"X-Request-ID": "req-404-x"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "req-404-x"
