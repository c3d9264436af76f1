"""A body over ``max_body_bytes`` is 413 ``request_too_large`` however it is framed: a
chunked body (no Content-Length) is refused, not cut at the limit and processed
(foundations F3). Checked through the Flask test client and a real gunicorn on loopback."""

from __future__ import annotations

import http.client
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from conformance.tpp import Tpp
from tests.helpers import assert_oauth_error
from tests.par import frozen_auth
from tppkit.local_server import free_port
from tppkit.local_server import serving

LIMIT = 65536
FORM = "application/x-www-form-urlencoded"
ENDPOINTS = [
    ("POST", "/par", FORM),
    ("POST", "/token", FORM),
    ("POST", "/revoke", FORM),
    ("POST", "/introspect", FORM),
    ("POST", "/admin/revocations", "application/json"),
    ("DELETE", "/consents/c-1", FORM),
    ("GET", "/jwks", FORM),
]


def _oversized(content_type: str) -> bytes:
    if content_type == FORM:
        return b"grant_type=client_credentials&pad=" + b"a" * (LIMIT * 2)
    return json.dumps({"user_id": "u", "reason": "a" * (LIMIT * 2)}).encode()


def _chunked(client: FlaskClient, svc: Services, method: str, path: str, **kw: Any) -> Any:
    """A request whose body has no Content-Length, its end known to the server (chunked)."""
    body: bytes = kw.pop("body")
    return client.open(
        path,
        method=method,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": kw.pop("content_type")},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        base_url=svc.settings.issuer,
    )


@pytest.mark.parametrize(("method", "path", "content_type"), ENDPOINTS)
def test_chunked_body_over_the_limit_is_413(
    client: FlaskClient, services_: Services, method: str, path: str, content_type: str
) -> None:
    body = _oversized(content_type)

    response = _chunked(client, services_, method, path, body=body, content_type=content_type)

    assert_oauth_error(response, 413, "request_too_large")


@pytest.mark.parametrize(("method", "path", "content_type"), ENDPOINTS)
def test_content_length_body_over_the_limit_is_413(
    client: FlaskClient, services_: Services, method: str, path: str, content_type: str
) -> None:
    response: TestResponse = client.open(
        path,
        method=method,
        data=_oversized(content_type),
        content_type=content_type,
        base_url=services_.settings.issuer,
    )

    assert_oauth_error(response, 413, "request_too_large")


def test_chunked_body_within_the_limit_is_processed(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    form = {"grant_type": "client_credentials", "scope": "accounts:read"}
    form.update(frozen_auth(tpp, services_))
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()

    response = _chunked(client, services_, "POST", "/token", body=body, content_type=FORM)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["access_token"]


@pytest.fixture
def gunicorn(cli_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]
    with serving(command, {**cli_env, "AUTHSERVER_ISSUER": base}, base, tmp_path / "g.log"):
        yield f"127.0.0.1:{port}"


def _post_chunked(address: str, path: str, body: bytes, content_type: str) -> tuple[int, Any]:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
        connection.request(
            "POST", path, body=chunks, headers={"Content-Type": content_type}, encode_chunked=True
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(("path", "content_type"), [("/token", FORM), ("/par", FORM)])
def test_chunked_body_over_the_limit_is_413_through_gunicorn(
    gunicorn: str, path: str, content_type: str
) -> None:
    status, body = _post_chunked(gunicorn, path, _oversized(content_type), content_type)

    assert (status, body["error"]) == (413, "request_too_large")


def test_small_chunked_body_is_read_whole_through_gunicorn(gunicorn: str) -> None:
    status, body = _post_chunked(gunicorn, "/token", b"grant_type=client_credentials", FORM)

    assert (status, body["error"]) == (401, "invalid_client")
