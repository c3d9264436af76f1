"""A token's life through the real endpoints: the kit the revocation, introspection and
consent tests share.

Tokens come from the code flow (PAR → login → consent → code → token) or
client_credentials, optionally DPoP-bound; then they are refreshed (RFC 6749 §6),
revoked (RFC 7009), introspected (RFC 7662, RFC 9701) or presented to ``/userinfo``.
Every client assertion and DPoP proof is made at the server's frozen clock
(``tests.par.frozen_auth``), so a test may advance it past a token's ``exp``.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.par import finish
from tests.par import frozen_auth
from tests.par import post_form
from tests.par import push
from tests.par import redeem
from tppkit import Browser
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof


def code_flow_tokens(
    client: FlaskClient,
    browser: Browser,
    svc: Services,
    tpp: Tpp,
    *,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> dict[str, Any]:
    """The token response of a full code flow (scope openid accounts:read) for ``tpp``."""
    pushed = push(client, svc, tpp)
    flow = finish(browser, tpp, pushed, username=username, password=password)
    response = redeem(client, svc, tpp, flow)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert body["refresh_token"]
    return body


def client_credentials(
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    scope: str | None = None,
    *,
    dpop_key: PrivateKey | None = None,
) -> TestResponse:
    """POST /token (client_credentials), DPoP-bound to ``dpop_key`` when given."""
    form = {"grant_type": "client_credentials", **frozen_auth(tpp, svc)}
    if scope is not None:
        form["scope"] = scope
    headers = {}
    if dpop_key is not None:
        url = svc.settings.issuer + "/token"
        headers["DPoP"] = dpop_proof(dpop_key, "POST", url, iat=int(svc.clock.time()))
    return client.post("/token", data=form, headers=headers, base_url=svc.settings.issuer)


def client_credentials_token(
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    scope: str | None = None,
    *,
    dpop_key: PrivateKey | None = None,
) -> str:
    """The access token of a successful client_credentials request."""
    response = client_credentials(client, svc, tpp, scope, dpop_key=dpop_key)
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["access_token"]
    return token


def refresh(client: FlaskClient, svc: Services, tpp: Tpp, refresh_token: str) -> TestResponse:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return post_form(client, svc, "/token", {**form, **frozen_auth(tpp, svc)})


def revoke(
    client: FlaskClient, svc: Services, tpp: Tpp, token: str, hint: str | None = None
) -> TestResponse:
    """POST /revoke authenticated as ``tpp``."""
    form = {"token": token, **frozen_auth(tpp, svc)}
    if hint is not None:
        form["token_type_hint"] = hint
    return post_form(client, svc, "/revoke", form)


def introspect(
    client: FlaskClient,
    svc: Services,
    caller: Tpp,
    token: str,
    *,
    headers: dict[str, str] | None = None,
    **form: str,
) -> TestResponse:
    """POST /introspect as ``caller``."""
    data = {"token": token, **form, **frozen_auth(caller, svc)}
    return client.post(
        "/introspect", data=data, headers=headers or {}, base_url=svc.settings.issuer
    )


def introspection(client: FlaskClient, svc: Services, caller: Tpp, token: str) -> dict[str, Any]:
    """The JSON answer of a successful introspection."""
    response = introspect(client, svc, caller, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def userinfo(client: FlaskClient, svc: Services, token: str) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/userinfo", headers=headers, base_url=svc.settings.issuer)
