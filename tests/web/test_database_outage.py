"""A database outage is 503 ``temporarily_unavailable`` with ``Retry-After`` on every
endpoint, never a 500 (foundations F6); teardown can never change a response."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.db import db
from authserver.settings import Settings
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port

ISSUER = "https://as.example.test"


def _unreachable_postgres(_tmp: Path) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/none"


def _unreachable_sqlite(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'missing-directory' / 'authserver.db'}"


@pytest.fixture(params=[_unreachable_postgres, _unreachable_sqlite], ids=["postgres", "sqlite"])
def down_app(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    clock: FrozenClock,
    tmp_path: Path,
) -> Iterator[Flask]:
    settings = make_settings(database_url=request.param(tmp_path))
    with app_with(settings, clock) as app:
        yield app


def _auth_form() -> dict[str, str]:
    stranger = Tpp("tpp-one", generate_key("ES256"), "ES256", ISSUER, "https://tpp.example.test/cb")
    return stranger.auth_form()


def _par(client: FlaskClient) -> TestResponse:
    params, _ = Tpp(
        "tpp-one", generate_key("ES256"), "ES256", ISSUER, "https://tpp.example.test/cb"
    ).authorization_params()
    return client.post("/par", data={**params, **_auth_form()}, base_url=ISSUER)


def _form(path: str, **form: str) -> Callable[[FlaskClient], TestResponse]:
    return lambda client: client.post(path, data={**form, **_auth_form()}, base_url=ISSUER)


def _get(path: str, **headers: str) -> Callable[[FlaskClient], TestResponse]:
    return lambda client: client.get(path, headers=headers, base_url=ISSUER)


def _access_token_shaped() -> str:
    """A well-formed JWT naming a ``kid``: verifying it needs the key table. (Garbage such
    as ``x.y.z`` is refused before any key is read, database or not.)"""
    key = generate_key("ES256")
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "kid-from-the-database"}
    return jwt.encode(header, {"iss": ISSUER, "sub": "someone"}, key)


API_CALLS: dict[str, Callable[[FlaskClient], Any]] = {
    "par": _par,
    "token": _form("/token", grant_type="client_credentials"),
    "revoke": _form("/revoke", token="t"),
    "introspect": _form("/introspect", token="t"),
    "jwks": _get("/jwks"),
    "userinfo": lambda client: _get("/userinfo", Authorization=f"Bearer {_access_token_shaped()}")(
        client
    ),
}


@pytest.mark.parametrize("call", API_CALLS.values(), ids=API_CALLS.keys())
def test_api_endpoint_is_503_when_the_database_is_unreachable(
    down_app: Flask, call: Callable[[FlaskClient], TestResponse]
) -> None:
    response = call(down_app.test_client())

    body = assert_oauth_error(response, 503, "temporarily_unavailable")
    assert set(body) == {"error", "request_id"}
    assert response.headers["Retry-After"]


def test_authorize_is_a_503_page_when_the_database_is_unreachable(down_app: Flask) -> None:
    response = down_app.test_client().get(
        "/authorize?client_id=tpp-one&request_uri=urn:x", base_url=ISSUER
    )

    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "temporarily_unavailable" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]


def test_a_rollback_failure_in_teardown_does_not_change_the_response(app: Flask) -> None:
    def query() -> str:
        db.session.execute(sa.text("SELECT 1"))  # opens a transaction to roll back
        return "ok"

    def broken_rollback(_connection: Any) -> None:
        raise sa.exc.OperationalError("ROLLBACK", {}, ConnectionError("connection lost"))

    app.add_url_rule("/test/query", view_func=query)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "rollback", broken_rollback)
    try:
        response = app.test_client().get("/test/query")
    finally:
        sa.event.remove(engine, "rollback", broken_rollback)

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
