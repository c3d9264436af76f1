"""Fixtures for end-to-end flows (a pytest plugin loaded by tests/conftest.py): registered
TPPs and resource servers, a user, and the Flask test client as a
``conformance.tpp.Transport`` (HTTPS base URL, so Secure cookies flow as in a browser).

Flow tests never hold an app context across requests (each request gets its own, as
in production); set-up data is written inside short ``app.app_context()`` blocks.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clients.service import ClientRequest
from authserver.context import Services
from authserver.context import services
from conformance.tpp import Browser
from conformance.tpp import HttpResponse
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from conformance.tpp import public_jwks

REDIRECT_URI = "https://tpp.example.test/cb"
USERNAME = "alice"
PASSWORD = "correct horse battery staple"  # test-only


class FlaskTransport:
    def __init__(self, client: FlaskClient, base_url: str) -> None:
        self._client = client
        self._base_url = base_url

    def request(
        self,
        method: str,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        path = url.removeprefix(self._base_url) or "/"
        response = self._client.open(
            path, method=method, data=form, headers=headers, base_url=self._base_url
        )
        return HttpResponse(response.status_code, dict(response.headers), response.get_data())


@pytest.fixture
def services_(app: Flask) -> Services:
    """The app's services without an app context (wrap DB work in app.app_context())."""
    return services(app)


@pytest.fixture
def transport(client: FlaskClient, services_: Services) -> FlaskTransport:
    return FlaskTransport(client, services_.settings.issuer)


@pytest.fixture
def browser(transport: FlaskTransport, services_: Services) -> Browser:
    return Browser(transport, services_.settings.issuer)


def _register(
    app: Flask, svc: Services, client_id: str, alg: str, *, label: str, **registration: Any
) -> Tpp:
    """Register ``client_id`` with a fresh ``alg`` key; its Tpp identity (key, assertions)."""
    key = generate_key(alg)
    with app.app_context():
        svc.clients.create(
            ClientRequest(
                client_name=f"{client_id} ({label})",
                client_id=client_id,
                jwks=public_jwks(key),
                **registration,
            ),
            actor="test",
        )
    return Tpp(client_id, key, alg, svc.settings.issuer, REDIRECT_URI)


@pytest.fixture
def make_tpp(app: Flask, services_: Services) -> Any:
    def _make(client_id: str = "tpp-one", alg: str = "ES256", **registration: Any) -> Tpp:
        return _register(
            app,
            services_,
            client_id,
            alg,
            label="test",
            redirect_uris=[REDIRECT_URI],
            scopes=["openid", "accounts:read", "payments:write"],
            **registration,
        )

    return _make


@pytest.fixture
def make_resource_server(app: Flask, services_: Services) -> Any:
    """Register a resource-server client (introspection only); returns its Tpp identity
    (key, assertion builder) for calling /introspect."""

    def _make(client_id: str = "rs-one", alg: str = "ES256", **registration: Any) -> Tpp:
        return _register(
            app,
            services_,
            client_id,
            alg,
            label="test resource server",
            redirect_uris=[],
            scopes=[],
            grant_types=[],
            resource_server=True,
            **registration,
        )

    return _make


@pytest.fixture
def tpp(make_tpp: Any) -> Tpp:
    result: Tpp = make_tpp()
    return result


@pytest.fixture
def rs(make_resource_server: Any) -> Tpp:
    """A resource server (rs-one) that asks /introspect about tokens."""
    result: Tpp = make_resource_server()
    return result


@pytest.fixture
def user(app: Flask, services_: Services) -> str:
    with app.app_context():
        return services_.users.create(USERNAME, PASSWORD, actor="test").user.id
