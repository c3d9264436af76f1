"""Errors on the wire: JSON on API paths, a page on browser paths, nothing leaked on a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask import jsonify
from flask import request
from flask.testing import FlaskClient

from authserver.errors import register_browser_prefix
from authserver.settings import Settings
from tests.helpers import assert_oauth_error

SMALL_BODY_LIMIT = 1024


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    result: Settings = make_settings(max_body_bytes=SMALL_BODY_LIMIT)
    return result


def test_unknown_api_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/no/such/endpoint")
    body = assert_oauth_error(response, 404, "not_found")
    assert set(body) <= {"error", "error_description"}
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_method_is_json_405_with_allow_header(client: FlaskClient) -> None:
    response = client.post("/jwks")
    assert_oauth_error(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert "GET" in allowed
    assert "POST" not in allowed


def test_body_over_the_limit_is_json_413(app: Flask) -> None:
    @app.post("/test/echo-length")
    def echo_length() -> Any:
        return jsonify({"length": len(request.get_data())})

    client = app.test_client()
    ok = client.post("/test/echo-length", data=b"x" * SMALL_BODY_LIMIT)
    assert ok.status_code == 200
    assert ok.get_json() == {"length": SMALL_BODY_LIMIT}

    response = client.post("/test/echo-length", data=b"x" * (SMALL_BODY_LIMIT + 1))
    assert_oauth_error(response, 413, "request_too_large")


def test_form_body_over_the_limit_is_json_413(app: Flask) -> None:
    @app.post("/test/form")
    def form() -> Any:
        return jsonify(dict(request.form))

    response = app.test_client().post("/test/form", data={"field": "x" * (SMALL_BODY_LIMIT * 2)})
    assert_oauth_error(response, 413, "request_too_large")


def test_unhandled_exception_is_opaque_json_500_with_request_id(app: Flask) -> None:
    # Without TESTING or DEBUG Flask already handles the error; pin that explicitly.
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test/boom")
    def boom() -> Any:
        raise RuntimeError("db password=hunter2 leaked in an exception message")

    response = app.test_client().get("/test/boom", headers={"X-Request-ID": "req-500-a1"})

    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.headers["X-Request-ID"] == "req-500-a1"
    assert response.get_json() == {"error": "server_error", "request_id": "req-500-a1"}
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "hunter2", "boom", ".py"):
        assert leak not in text
    assert response.headers["Cache-Control"] == "no-store"


def test_unhandled_exception_without_request_id_reports_the_generated_one(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test/boom")
    def boom() -> Any:
        raise ValueError("internal detail")

    response = app.test_client().get("/test/boom")

    assert response.status_code == 500
    assert response.get_json() == {
        "error": "server_error",
        "request_id": response.headers["X-Request-ID"],
    }


def test_malformed_json_body_is_400_never_500(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/test/json")
    def parse_json() -> Any:
        return jsonify({"received": request.get_json()})

    client = app.test_client()
    for payload in (b'{"unterminated": ', b"not json at all", b"\xff\xfe\x00"):
        response = client.post("/test/json", data=payload, content_type="application/json")
        assert_oauth_error(response, 400, "invalid_request")

    ok = client.post("/test/json", json={"a": 1})
    assert ok.get_json() == {"received": {"a": 1}}


def test_browser_prefix_renders_html_404(app: Flask) -> None:
    register_browser_prefix(app, "/test-pages")

    response = app.test_client().get(
        "/test-pages/missing", headers={"X-Request-ID": "req-page-404"}
    )

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<html" in page
    assert "not_found" in page
    assert "req-page-404" in page
    assert response.headers["Cache-Control"] == "no-store"


def test_browser_prefix_does_not_match_a_longer_sibling_path(app: Flask) -> None:
    register_browser_prefix(app, "/test-pages")

    response = app.test_client().get("/test-pagesX/missing")

    assert_oauth_error(response, 404, "not_found")


def test_browser_prefix_500_page_shows_only_the_reference(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    register_browser_prefix(app, "/test-pages")

    @app.get("/test-pages/boom")
    def boom() -> Any:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/test-pages/boom", headers={"X-Request-ID": "req-page-500"})

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "req-page-500" in page
    assert "server_error" in page
    assert "secret internal detail" not in page
    assert "Traceback" not in page
