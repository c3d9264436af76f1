"""Fixtures for end-to-end flows (a pytest plugin loaded by tests/conftest.py): registered
TPPs and resource servers, a user, and the Flask test client as a
``conformance.tpp.Transport`` (HTTPS base URL, so Secure cookies flow as in a browser).

Each client id gets one key per test process (``tppkit.shared_tpp_key``): every test
registers it in its own database, and RSA generation is slow.

Flow tests never hold an app context across requests (each request gets its own, as
in production); set-up data is written inside short ``app.app_context()`` blocks.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.context import services
from authserver.experience import experience
from tppkit import Browser
from tppkit import HttpResponse
from tppkit import Tpp
from tppkit.keys import shared_tpp_key
from tppkit.registration import REDIRECT_URI as REDIRECT_URI  # re-exported
from tppkit.registration import register_resource_server
from tppkit.registration import register_tpp

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
    """The app's services without an app context (wrap DB work in app.app_context()).

    The one services fixture: ``svc`` (tests/conftest.py) is this inside an app context.
    """
    return services(app)


@pytest.fixture
def transport(client: FlaskClient, services_: Services) -> FlaskTransport:
    return FlaskTransport(client, services_.settings.issuer)


@pytest.fixture
def browser(transport: FlaskTransport, services_: Services) -> Browser:
    return Browser(transport, services_.settings.issuer)


@pytest.fixture
def make_tpp(app: Flask, services_: Services) -> Any:
    def _make(client_id: str = "tpp-one", alg: str = "ES256", **registration: Any) -> Tpp:
        key = shared_tpp_key(alg, client_id)
        return register_tpp(app, client_id, alg, key=key, redirect_uri=REDIRECT_URI, **registration)

    return _make


@pytest.fixture
def make_resource_server(app: Flask, services_: Services) -> Any:
    """Register a resource-server client (introspection only); returns its Tpp identity
    (key, assertion builder) for calling /introspect."""

    def _make(client_id: str = "rs-one", alg: str = "ES256", **registration: Any) -> Tpp:
        key = shared_tpp_key(alg, client_id)
        return register_resource_server(app, client_id, alg, key=key, **registration)

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
def tokens(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> dict[str, Any]:
    """The token response (access, refresh, ID token) of ``tpp``'s code flow for ``user``
    (scope openid accounts:read)."""
    from tests.lifecycle import code_flow_tokens  # tests.lifecycle imports this module

    return code_flow_tokens(client, browser, services_, tpp)


@pytest.fixture
def user(app: Flask, services_: Services) -> str:
    with app.app_context():
        return experience(app).users.create(USERNAME, PASSWORD, actor="test").user.id
